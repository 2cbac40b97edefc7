SELECT guid FROM article WHERE guid IN ({in})
