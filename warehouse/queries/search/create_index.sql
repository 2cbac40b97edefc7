PRAGMA create_fts_index('article_search', 'article_id', 'tokens', stemmer = 'none',
    stopwords = 'none', ignore = '\s+', strip_accents = 0, lower = 0, overwrite = 1)
