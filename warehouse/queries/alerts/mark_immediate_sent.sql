UPDATE immediate_message SET sent_at = ?, channels = ?, attempts = attempts + 1, last_error = NULL
WHERE message_key IN (SELECT unnest(?::TEXT[]))
