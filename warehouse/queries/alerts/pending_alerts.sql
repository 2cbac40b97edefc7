SELECT al.alert_id, al.rule, al.severity, al.matched, al.snippet, al.created_at,
       al.story_id, al.rule_version, al.field, im.sent_at AS immediate_sent_at,
       o.title AS origin_title, o.source AS origin_source,
       o.canonical_url AS origin_url, o.published_at AS origin_published_at,
       o.first_seen_at AS origin_first_seen_at,
       list({'title': c.title, 'source': c.source, 'url': c.canonical_url}
            ORDER BY c.first_seen_at) FILTER (WHERE c.article_id <> o.article_id) AS copies
FROM alert al
JOIN article o ON o.article_id = al.story_id
LEFT JOIN article c ON c.story_id = al.story_id
LEFT JOIN immediate_alert ia ON ia.alert_id = al.alert_id
LEFT JOIN immediate_message im ON im.message_key = ia.message_key
WHERE al.delivered_at IS NULL AND al.digest_id IS NULL
GROUP BY ALL
ORDER BY al.created_at DESC, o.published_at DESC NULLS LAST, al.alert_id DESC
