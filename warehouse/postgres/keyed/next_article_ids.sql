SELECT nextval('keyed_article_id') FROM generate_series(1, %s)
