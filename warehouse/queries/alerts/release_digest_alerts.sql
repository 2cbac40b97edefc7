UPDATE alert SET digest_id = NULL WHERE digest_id = ? AND delivered_at IS NULL
