-- Extracted entries not stored yet, oldest first. With a list of feed URLs (a shard's), only those feeds' entries.
SELECT * FROM entry WHERE status = 'extracted'
    AND ($1::VARCHAR[] IS NULL OR list_contains($1::VARCHAR[], feed_url))
ORDER BY discovered_at, entry_key
