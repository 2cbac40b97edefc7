-- Full-text search that keeps Japanese and Korean: one row of search tokens per
-- relevant article (Latin words, and character bigrams for CJK runs), indexed
-- by DuckDB's fts extension with a tokenizer that splits on white space only.

CREATE TABLE article_search (
    article_id  BIGINT PRIMARY KEY,
    tokens      TEXT NOT NULL
);
