SELECT canonical_url FROM keyed_url WHERE canonical_url = ANY(%s)
