DELETE FROM minhash_band WHERE article_id IN ({in})
