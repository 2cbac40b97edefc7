UPDATE alert SET delivered_at = ? WHERE digest_id = ? AND delivered_at IS NULL
