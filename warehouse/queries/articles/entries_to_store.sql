SELECT * FROM entry WHERE status = 'extracted' ORDER BY discovered_at, entry_key
