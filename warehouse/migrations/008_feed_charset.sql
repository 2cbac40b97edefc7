-- How a feed's charset was settled, when it was not simply as declared:
-- "charset not declared; detected Shift_JIS", "bytes are not the declared
-- EUC-JP; detected Shift_JIS", "declared ISO-8859-1, but the bytes
-- are UTF-8". NULL when the feed was read as it declares (or is plain UTF-8).

ALTER TABLE feed ADD COLUMN charset_note TEXT;

CREATE OR REPLACE VIEW feeds AS
SELECT url, title, last_polled_at, last_status, consecutive_failures, last_error,
       last_success_at, last_new_item_at, next_poll_at, charset_note
FROM feed;

CREATE OR REPLACE VIEW feed_health AS
SELECT url, title,
       CASE
           WHEN consecutive_failures > 0 THEN 'failing'
           WHEN last_new_item_at IS NULL AND last_success_at IS NULL THEN 'new'
           WHEN last_new_item_at IS NULL
                OR now() - last_new_item_at > to_seconds(greatest(6 * coalesce(item_interval_s, 86400), 43200))
               THEN 'silent'
           ELSE 'ok'
       END AS status,
       last_status, last_new_item_at, consecutive_failures, next_poll_at, last_error,
       item_interval_s, last_polled_at, last_success_at, charset_note
FROM feed;
