-- Core tables. Users query the views defined in 002_views.sql; these tables
-- hold the pipeline's own state as well as the articles.

CREATE SEQUENCE article_id_seq START 1;

-- One row per feed in the OPML list, with the state polling needs.
CREATE TABLE feed (
    url                  TEXT PRIMARY KEY,
    title                TEXT,
    etag                 TEXT,          -- sent back verbatim as If-None-Match
    last_modified        TEXT,          -- sent back verbatim as If-Modified-Since
    body_hash            TEXT,          -- sha256 of the last body, for lying validators
    last_polled_at       TIMESTAMPTZ,
    last_success_at      TIMESTAMPTZ,
    last_new_item_at     TIMESTAMPTZ,
    last_status          INTEGER,       -- HTTP status of the last poll (NULL: no response)
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    next_poll_at         TIMESTAMPTZ    -- backoff and Retry-After; NULL means due now
);

-- One row per feed entry ever seen, keyed by its canonical link (or its GUID
-- when it has no link). It carries the entry through fetch and extraction.
CREATE TABLE entry (
    entry_key      TEXT PRIMARY KEY,
    feed_url       TEXT NOT NULL,
    guid           TEXT,
    link           TEXT,               -- exactly as the feed gave it
    canonical_url  TEXT,
    title          TEXT,
    author         TEXT,
    summary        TEXT,               -- the feed's own content or summary, as text
    published_at   TIMESTAMPTZ,
    discovered_at  TIMESTAMPTZ NOT NULL,
    status         TEXT NOT NULL,      -- pending | extracted | failed | stored
    attempts       INTEGER NOT NULL DEFAULT 0,
    error          TEXT,               -- why the last fetch or extraction failed
    -- filled by the fetch stage
    final_url      TEXT,
    http_status    INTEGER,
    content_type   TEXT,
    fetched_at     TIMESTAMPTZ,
    page_title     TEXT,
    page_author    TEXT,
    page_date      TIMESTAMPTZ,
    site_name      TEXT,
    language       TEXT,
    text           TEXT,
    method         TEXT,               -- trafilatura | feed-content | feed-summary
    article_id     BIGINT              -- set when stored
);
CREATE INDEX entry_guid_idx ON entry (guid);
CREATE INDEX entry_status_idx ON entry (status);

-- Every stored copy of every article. story_id is the article_id of the
-- first-seen copy of the story (its origin).
CREATE TABLE article (
    article_id        BIGINT PRIMARY KEY,
    url               TEXT NOT NULL,       -- the link as the feed gave it, or seed:NAME
    canonical_url     TEXT NOT NULL UNIQUE,
    final_url         TEXT,
    guid              TEXT,
    feed_url          TEXT,
    title             TEXT,
    author            TEXT,
    source            TEXT,                -- outlet or site name
    language          TEXT,
    published_at      TIMESTAMPTZ,
    first_seen_at     TIMESTAMPTZ NOT NULL,
    text              TEXT,                -- NULL for off-topic articles (kept minimally)
    text_hash         TEXT,
    method            TEXT,
    relevant          BOOLEAN NOT NULL,
    relevance_reason  TEXT NOT NULL,
    story_id          BIGINT,              -- NULL for off-topic articles
    duplicate_of      BIGINT,              -- the stored copy this one matched
    duplicate_reason  TEXT,                -- text-hash | near-duplicate (J=…, C=…)
    is_seed           BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX article_text_hash_idx ON article (text_hash);
CREATE INDEX article_story_idx ON article (story_id);

-- MinHash signatures and their LSH band keys for near-duplicate lookups.
CREATE TABLE article_minhash (
    article_id  BIGINT PRIMARY KEY,
    shingles    INTEGER NOT NULL,          -- size of the shingle set
    signature   UBIGINT[] NOT NULL
);
CREATE TABLE minhash_band (
    band_key    BIGINT NOT NULL,
    article_id  BIGINT NOT NULL
);
CREATE INDEX minhash_band_key_idx ON minhash_band (band_key);

-- One row per cycle, written when it ends.
CREATE TABLE cycle (
    cycle_id        TEXT PRIMARY KEY,
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    seeds_loaded    INTEGER,
    feeds_polled    INTEGER,
    feeds_failed    INTEGER,
    feeds_unchanged INTEGER,
    new_entries     INTEGER,
    pages_fetched   INTEGER,
    fetch_failures  INTEGER,
    articles_stored INTEGER,
    duplicates      INTEGER,
    off_topic       INTEGER
);
