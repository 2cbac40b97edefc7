UPDATE digest SET sent_at = ?, channels = ? WHERE digest_id = ?
