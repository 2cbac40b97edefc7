-- Alerts and digests.

CREATE SEQUENCE alert_id_seq START 1;

-- One alert per (rule, story): later copies of the story attach to it.
CREATE TABLE alert (
    alert_id      BIGINT PRIMARY KEY,
    rule          TEXT NOT NULL,
    rule_version  TEXT NOT NULL,            -- hash of the rule's definition when it fired
    story_id      BIGINT NOT NULL,
    article_id    BIGINT NOT NULL,          -- the copy that raised it
    severity      TEXT NOT NULL,
    matched       TEXT[] NOT NULL,          -- the terms found, as written
    field         TEXT NOT NULL,            -- title or body
    snippet       TEXT NOT NULL,            -- with the matches marked ⟦like this⟧
    created_at    TIMESTAMPTZ NOT NULL,
    digest_id     TEXT,                     -- the digest it went out in (or is going out in)
    delivered_at  TIMESTAMPTZ,
    UNIQUE (rule, story_id)
);

-- Every copy that attached to an alert, the first one included.
CREATE TABLE alert_article (
    alert_id    BIGINT NOT NULL,
    article_id  BIGINT NOT NULL,
    added_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (alert_id, article_id)
);

-- Which stored articles the rules have already seen.
CREATE TABLE rule_check (
    article_id  BIGINT PRIMARY KEY,
    checked_at  TIMESTAMPTZ NOT NULL
);

-- A digest is fixed (its alerts, its Message-ID) before it is sent, so that a
-- crash between sending and marking re-sends the same digest, never another.
CREATE TABLE digest (
    digest_id    TEXT PRIMARY KEY,
    message_id   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    alert_count  INTEGER NOT NULL,
    subject      TEXT NOT NULL,
    text_body    TEXT NOT NULL,             -- rendered once, re-sent as is
    html_body    TEXT NOT NULL,
    markdown     TEXT NOT NULL,
    sent_at      TIMESTAMPTZ,               -- NULL until delivery succeeded
    channels     TEXT                       -- what it was delivered through
);

ALTER TABLE cycle ADD COLUMN alerts_raised INTEGER;

CREATE VIEW alerts AS
SELECT a.alert_id, a.rule, a.article_id, a.story_id, a.severity, a.matched, a.snippet,
       a.created_at, a.delivered_at,
       a.rule_version, a.field, a.digest_id,
       (SELECT count(DISTINCT coalesce(x.source, x.url)) FROM article x WHERE x.story_id = a.story_id) AS outlets
FROM alert a;
