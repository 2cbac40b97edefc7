SELECT band_key, article_id FROM minhash_band_recent WHERE band_key IN ({in})
