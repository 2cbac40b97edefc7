SELECT band_key, article_id FROM minhash_band WHERE band_key IN ({in})
