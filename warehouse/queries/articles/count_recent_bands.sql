SELECT count(*) FROM minhash_band_recent
