SELECT a.article_id, a.story_id, s.score, a.title, a.source, a.language,
       coalesce(a.canonical_url, a.url) AS url,
       coalesce(a.published_at, a.first_seen_at) AS published, a.is_seed, a.text
FROM postgres_query('ks', $1) s
JOIN articles a USING (article_id)
ORDER BY s.score DESC, a.article_id
LIMIT $2
