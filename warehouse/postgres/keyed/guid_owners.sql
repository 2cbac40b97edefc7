SELECT guid, article_id FROM keyed_guid WHERE guid = ANY(%s)
