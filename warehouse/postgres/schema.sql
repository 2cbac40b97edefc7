-- The story decision's keyed state in PostgreSQL (warehouse/keyed.py): what the decision looks up,
-- with the keys that make every write idempotent and every claim single. Safe to run again.

-- Article ids, unique across every worker.
CREATE SEQUENCE IF NOT EXISTS keyed_article_id;

-- Claims: a canonical URL or a GUID belongs to one article, whoever asks first.
CREATE TABLE IF NOT EXISTS keyed_url (
    canonical_url TEXT PRIMARY KEY,
    article_id    BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS keyed_guid (
    guid       TEXT PRIMARY KEY,
    article_id BIGINT NOT NULL
);

-- Articles with a story: what verification reads of a candidate the bands found.
CREATE TABLE IF NOT EXISTS keyed_article (
    article_id BIGINT PRIMARY KEY,
    story_id   BIGINT NOT NULL,
    text       TEXT
);

-- Normalised text hash → the first indexed article with that text.
CREATE TABLE IF NOT EXISTS keyed_text_hash (
    text_hash  TEXT PRIMARY KEY,
    article_id BIGINT NOT NULL
);

-- LSH band key → indexed articles: 32 rows per indexed article. The primary key's B-tree leads
-- with band_key, so a lookup is an index-only scan, and re-recording a row does nothing.
CREATE TABLE IF NOT EXISTS keyed_band (
    band_key   BIGINT NOT NULL,
    article_id BIGINT NOT NULL,
    CONSTRAINT keyed_band_pkey PRIMARY KEY (band_key, article_id)
);
