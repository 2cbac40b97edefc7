SELECT * FROM digest WHERE sent_at IS NULL ORDER BY created_at LIMIT 1
