"""Rules as data (TOML files in this folder) and the small engine that reads them."""
