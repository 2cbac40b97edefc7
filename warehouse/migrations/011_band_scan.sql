-- The LSH band keys (32 per relevant article) lose their ART index. DuckDB
-- writes a changed ART index out whole at every checkpoint, and a stage
-- checkpoints when it closes the file: with 200,000 stories (6.4 million band
-- rows) that rewrite cost 2.5 s of CPU per stored batch, and it grows with the
-- archive. A batch's band keys are looked up in one hash join over the scanned
-- band_key column instead (queries/articles/articles_by_band_key.sql), which
-- at 200,000 stories costs less than the index lookups did.

DROP INDEX minhash_band_key_idx;
