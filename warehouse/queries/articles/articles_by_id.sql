SELECT article_id, story_id, text FROM article WHERE article_id IN ({in})
