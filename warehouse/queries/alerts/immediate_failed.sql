UPDATE immediate_message SET attempts = attempts + 1, last_error = ? WHERE message_key = ?
