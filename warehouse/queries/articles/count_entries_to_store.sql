SELECT count(*) FROM entry WHERE status = 'extracted'
    AND ($1::VARCHAR[] IS NULL OR list_contains($1::VARCHAR[], feed_url))
