SELECT count(*) FROM article
