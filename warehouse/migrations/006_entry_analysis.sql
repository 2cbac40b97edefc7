-- The judgement and fingerprint of an extracted entry, computed by the worker
-- process that extracted it (in parallel with fetching), so that the store
-- stage only looks up and appends. NULL when not computed yet: the store
-- stage then computes them itself.

ALTER TABLE entry ADD COLUMN relevant BOOLEAN;
ALTER TABLE entry ADD COLUMN relevance_reason TEXT;
ALTER TABLE entry ADD COLUMN text_hash TEXT;
ALTER TABLE entry ADD COLUMN shingles INTEGER;
ALTER TABLE entry ADD COLUMN signature BLOB;          -- uint64[128], little-endian
ALTER TABLE entry ADD COLUMN search_tokens TEXT;      -- for relevant entries
