INSERT INTO keyed_guid (guid, article_id)
SELECT * FROM unnest(%s::TEXT[], %s::BIGINT[]) ORDER BY 1
ON CONFLICT (guid) DO NOTHING
