SELECT guid FROM keyed_guid WHERE guid = ANY(%s)
