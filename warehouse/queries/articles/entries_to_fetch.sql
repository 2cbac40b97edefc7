SELECT * FROM entry WHERE status = 'pending' AND attempts < ?
ORDER BY discovered_at, entry_key
