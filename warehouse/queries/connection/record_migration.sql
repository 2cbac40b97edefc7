INSERT INTO schema_migration VALUES (?, ?, ?, now())
