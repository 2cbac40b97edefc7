SELECT article_id, story_id, text FROM keyed_article WHERE article_id = ANY(%s)
