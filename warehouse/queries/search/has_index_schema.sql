SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'fts_main_article_search'
