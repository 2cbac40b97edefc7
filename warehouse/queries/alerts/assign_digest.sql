UPDATE alert SET digest_id = ? WHERE alert_id IN (SELECT unnest($2::BIGINT[]))
