-- New LSH band keys go to a small table without an index, and are moved into
-- minhash_band (ART-indexed) in bulk now and then (warehouse/articles.py,
-- BAND_MERGE_ROWS). DuckDB writes a changed ART index out whole at every
-- checkpoint, and a stage checkpoints when it closes the file: inserting each
-- batch's 3,200 keys into the index made every close rewrite it (4 s per batch
-- of 100 articles at 2,000,000 stories, 64 million band rows). Now the index
-- changes once per merge. A lookup reads the index and scans the recent table.
CREATE TABLE minhash_band_recent (
    band_key    BIGINT NOT NULL,
    article_id  BIGINT NOT NULL
);
