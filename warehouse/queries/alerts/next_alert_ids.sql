SELECT nextval('alert_id_seq') AS id FROM range(?) ORDER BY id
