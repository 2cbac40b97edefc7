DELETE FROM minhash_band_recent WHERE article_id IN ({in})
