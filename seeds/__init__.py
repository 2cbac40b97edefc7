"""The seed articles (``*.txt``), their manifest (``manifest.toml``) and the default feed list
(``feeds.opml``): data only, shipped in the wheel as this package's files.

Code finds them through ``newswatch.settings.SEEDS_DIR``.
"""
