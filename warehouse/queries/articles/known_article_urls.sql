SELECT canonical_url FROM article WHERE canonical_url IN (SELECT unnest($1::TEXT[]))
