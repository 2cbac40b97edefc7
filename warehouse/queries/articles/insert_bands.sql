INSERT INTO minhash_band SELECT unnest($1::BIGINT[]), unnest($2::BIGINT[])
