DELETE FROM digest WHERE digest_id = ? AND sent_at IS NULL
