"""The demo newsroom: fixture outlets served over HTTP on 127.0.0.1.

``articles/`` holds the articles we wrote (Markdown with TOML front matter);
``build.py`` renders them, and the seed articles, into ``site/`` as pages with
realistic site chrome and as RSS 0.91, RSS 1.0, RSS 2.0 and Atom feeds;
``server.py`` serves ``site/``.
"""
