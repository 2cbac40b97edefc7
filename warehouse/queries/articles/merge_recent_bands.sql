INSERT INTO minhash_band SELECT band_key, article_id FROM minhash_band_recent
