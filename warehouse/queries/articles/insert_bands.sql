INSERT INTO minhash_band SELECT band_key, article_id FROM new_bands
