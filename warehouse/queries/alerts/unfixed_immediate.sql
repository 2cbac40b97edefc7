SELECT i.alert_id FROM immediate_alert i JOIN alert a USING (alert_id)
WHERE i.message_key IS NULL AND a.delivered_at IS NULL AND a.digest_id IS NULL
