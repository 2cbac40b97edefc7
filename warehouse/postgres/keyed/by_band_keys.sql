SELECT band_key, article_id FROM keyed_band WHERE band_key = ANY(%s)
