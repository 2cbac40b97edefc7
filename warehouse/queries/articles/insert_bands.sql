INSERT INTO minhash_band_recent SELECT unnest($1::BIGINT[]), unnest($2::BIGINT[])
