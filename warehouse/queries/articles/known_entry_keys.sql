SELECT entry_key FROM entry WHERE entry_key IN (SELECT unnest($1::TEXT[]))
