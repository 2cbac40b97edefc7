-- The LSH band keys (32 per relevant article) lose their ART index. DuckDB
-- writes an ART index out whole at a checkpoint once a transaction changed it
-- or a lookup loaded it, and a stage checkpoints when it closes the file: with
-- 200,000 stories (6.4 million band rows) that cost 2.5 s of CPU per stored
-- batch of 100, about 7 s at 2,000,000, growing with the archive. A batch's
-- band keys are looked up in one statement instead, a hash join over the
-- scanned band_key column (queries/articles/articles_by_band_key.sql): 0.1 s
-- per batch at 200,000 stories, 1-2 s at 2,000,000.

DROP INDEX minhash_band_key_idx;
