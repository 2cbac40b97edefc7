INSERT INTO article_minhash
SELECT unnest($1::BIGINT[]), unnest($2::INTEGER[]), unnest($3::UBIGINT[][])
ON CONFLICT (article_id) DO NOTHING
