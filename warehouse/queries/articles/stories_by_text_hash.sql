SELECT text_hash, article_id, story_id FROM article WHERE text_hash IN ({in}) AND story_id IS NOT NULL
