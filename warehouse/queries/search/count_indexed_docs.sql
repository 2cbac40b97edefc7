SELECT count(*) FROM fts_main_article_search.docs
