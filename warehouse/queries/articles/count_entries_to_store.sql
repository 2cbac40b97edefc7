SELECT count(*) FROM entry WHERE status = 'extracted'
