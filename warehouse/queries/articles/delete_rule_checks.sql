DELETE FROM rule_check WHERE article_id IN ({in})
