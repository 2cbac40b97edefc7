-- Pending entries, oldest first. With a list of feed URLs (a shard's), only those feeds' entries.
SELECT * FROM entry WHERE status = 'pending' AND attempts < $1
    AND ($2::VARCHAR[] IS NULL OR list_contains($2::VARCHAR[], feed_url))
ORDER BY discovered_at, entry_key
