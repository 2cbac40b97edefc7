INSERT INTO keyed_url (canonical_url, article_id)
SELECT * FROM unnest(%s::TEXT[], %s::BIGINT[]) ORDER BY 1
ON CONFLICT (canonical_url) DO NOTHING
