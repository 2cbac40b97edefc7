INSERT INTO keyed_text_hash (text_hash, article_id)
SELECT * FROM unnest(%s::TEXT[], %s::BIGINT[]) ORDER BY 1
ON CONFLICT (text_hash) DO NOTHING
