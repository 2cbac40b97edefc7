SELECT canonical_url FROM article WHERE canonical_url IN ({in})
