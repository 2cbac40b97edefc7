-- Alerts "as it happens": a rule with delivery = "immediate" has its alerts sent
-- at the end of the cycle that raised them, one message per story, besides the
-- digest (where they still appear, marked as already sent).

-- The alerts to send as they happen, queued in the transaction that raises them.
CREATE TABLE immediate_alert (
    alert_id     BIGINT PRIMARY KEY,
    message_key  TEXT                       -- the message it goes out in, once fixed
);

-- A message is fixed (its alerts, its rendered bodies, a stable Message-ID)
-- before it is sent, so that a crash between sending and marking re-sends the
-- same message, never another. One message per story and cycle: the alerts of
-- every immediate rule that a story matched go out together.
CREATE TABLE immediate_message (
    message_key  TEXT PRIMARY KEY,
    story_id     BIGINT NOT NULL,
    message_id   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    subject      TEXT NOT NULL,
    text_body    TEXT NOT NULL,             -- rendered once, re-sent as is
    html_body    TEXT NOT NULL,
    markdown     TEXT NOT NULL,
    attempts     INTEGER NOT NULL,          -- sends tried
    last_error   TEXT,                      -- why the last try failed
    sent_at      TIMESTAMPTZ,               -- NULL until delivery succeeded
    channels     TEXT                       -- what it was delivered through
);

CREATE OR REPLACE VIEW alerts AS
SELECT a.alert_id, a.rule, a.article_id, a.story_id, a.severity, a.matched, a.snippet,
       a.created_at, a.delivered_at,
       a.rule_version, a.field, a.digest_id,
       (SELECT count(DISTINCT coalesce(x.source, x.url)) FROM article x WHERE x.story_id = a.story_id) AS outlets,
       CASE WHEN i.alert_id IS NULL THEN 'digest' ELSE 'immediate' END AS delivery,
       m.sent_at AS immediate_sent_at
FROM alert a
LEFT JOIN immediate_alert i ON i.alert_id = a.alert_id
LEFT JOIN immediate_message m ON m.message_key = i.message_key;
