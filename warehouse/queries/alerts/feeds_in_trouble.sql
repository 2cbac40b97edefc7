SELECT url, title, status, consecutive_failures, last_error, last_new_item_at
FROM feed_health WHERE status IN ('failing', 'silent') ORDER BY status, coalesce(title, url)
