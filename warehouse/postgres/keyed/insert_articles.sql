INSERT INTO keyed_article (article_id, story_id, text)
SELECT * FROM unnest(%s::BIGINT[], %s::BIGINT[], %s::TEXT[])
ON CONFLICT (article_id) DO NOTHING
