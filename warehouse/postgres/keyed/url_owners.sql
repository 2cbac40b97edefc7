SELECT canonical_url, article_id FROM keyed_url WHERE canonical_url = ANY(%s)
