SELECT rule, story_id, alert_id FROM alert WHERE story_id IN (SELECT unnest($1::BIGINT[]))
