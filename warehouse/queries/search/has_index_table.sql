SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'fts_main_article_search' AND table_name = 'docs'
