SELECT a.article_id, a.story_id, s.score, a.title, a.source, a.language,
       coalesce(a.canonical_url, a.url) AS url,
       coalesce(a.published_at, a.first_seen_at) AS published, a.is_seed, a.text
FROM (SELECT article_id,
             fts_main_article_search.match_bm25(article_id, $1, conjunctive := 1) AS score
      FROM article_search) s
JOIN articles a USING (article_id)
WHERE s.score IS NOT NULL
ORDER BY s.score DESC, a.article_id
LIMIT $2
