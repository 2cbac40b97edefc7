SELECT count(*) FROM alert WHERE digest_id = ?
