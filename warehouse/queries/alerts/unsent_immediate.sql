SELECT m.* FROM immediate_message m
WHERE m.sent_at IS NULL AND EXISTS (
    SELECT 1 FROM immediate_alert i JOIN alert a USING (alert_id)
    WHERE i.message_key = m.message_key AND a.delivered_at IS NULL)
ORDER BY m.created_at, m.message_key
