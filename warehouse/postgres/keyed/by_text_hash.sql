SELECT h.text_hash, a.article_id, a.story_id FROM keyed_text_hash h JOIN keyed_article a USING (article_id) WHERE h.text_hash = ANY(%s)
