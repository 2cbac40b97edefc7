SELECT version, checksum FROM schema_migration
