INSERT INTO keyed_band (band_key, article_id)
SELECT * FROM unnest(%s::BIGINT[], %s::BIGINT[])
ON CONFLICT (band_key, article_id) DO NOTHING
