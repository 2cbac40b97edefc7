SELECT a.article_id, a.title, a.text, a.story_id, a.relevant, a.is_seed,
       o.is_seed AS origin_is_seed
FROM article a
LEFT JOIN article o ON o.article_id = a.story_id
WHERE a.article_id NOT IN (SELECT article_id FROM rule_check)
ORDER BY a.article_id
