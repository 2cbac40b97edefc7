-- Views for ad-hoc SQL. Column lists are part of the user-facing contract
-- (tests/test_schema.py checks them).

-- Every stored copy of every article, seeds included.
CREATE VIEW articles AS
SELECT article_id, url, final_url, title, source, language, published_at,
       first_seen_at, text, story_id, relevant, is_seed,
       canonical_url, author, method, relevance_reason, duplicate_of, duplicate_reason
FROM article;

-- One row per story: its origin is its first-seen copy; copies counts them all.
CREATE VIEW stories AS
SELECT a.story_id,
       a.story_id                 AS origin_article_id,
       min(a.first_seen_at)       AS first_seen_at,
       count(*)                   AS copies,
       count(DISTINCT a.source)   AS outlets
FROM article a
WHERE a.story_id IS NOT NULL
GROUP BY a.story_id;

-- The health of each feed.
CREATE VIEW feeds AS
SELECT url, title, last_polled_at, last_status, consecutive_failures, last_error,
       last_success_at, last_new_item_at, next_poll_at
FROM feed;

-- Entries whose page could not be fetched or extracted, with the reason.
CREATE VIEW fetch_failures AS
SELECT link AS url, feed_url, attempts, error, http_status, fetched_at
FROM entry
WHERE error IS NOT NULL;

-- One row per cycle.
CREATE VIEW cycles AS
SELECT * FROM cycle;
