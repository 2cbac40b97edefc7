INSERT INTO article_minhash
SELECT article_id, any_value(shingles), list(value ORDER BY pos) FROM new_minhash_values GROUP BY article_id
ON CONFLICT (article_id) DO NOTHING
