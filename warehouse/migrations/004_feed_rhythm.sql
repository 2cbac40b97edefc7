-- Adaptive polling: each feed's own rhythm, and what its server asks of us.

ALTER TABLE feed ADD COLUMN item_interval_s DOUBLE;   -- usual gap between new items, seconds
ALTER TABLE feed ADD COLUMN min_interval_s DOUBLE;    -- the server's TTL / Cache-Control max-age
ALTER TABLE feed ADD COLUMN polls INTEGER DEFAULT 0;

-- Each feed's health: ok, failing, silent (much quieter than its rhythm) or new.
CREATE VIEW feed_health AS
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
       item_interval_s, last_polled_at, last_success_at
FROM feed;
