SELECT guid FROM entry WHERE guid IN (SELECT unnest($1::TEXT[]))
