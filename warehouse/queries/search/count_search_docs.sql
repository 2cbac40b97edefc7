SELECT count(*) FROM article_search
