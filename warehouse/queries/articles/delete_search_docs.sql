DELETE FROM article_search WHERE article_id IN ({in})
