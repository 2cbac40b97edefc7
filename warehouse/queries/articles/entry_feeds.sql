-- The feeds that have entries in a given state (a shard picks its own among them).
SELECT DISTINCT feed_url FROM entry WHERE status = $1
