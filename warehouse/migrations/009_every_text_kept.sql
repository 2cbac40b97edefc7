-- Every article keeps its text, on the beat or not, so that a relevance
-- mistake can be corrected later (`newswatch rejudge`); before this, off-topic
-- articles were stored without text. Their texts are still in the entry rows
-- they came from: copy them over.
UPDATE article SET text = e.text
FROM entry e
WHERE e.article_id = article.article_id AND article.text IS NULL AND e.text IS NOT NULL;

COMMENT ON COLUMN article.text IS 'the extracted text, for every article (relevant or not)';
COMMENT ON COLUMN article.story_id IS 'the first-seen copy of its story; NULL for off-topic articles';

-- Whether an entry's text is mostly site chrome (a teaser list): such texts
-- are never grouped into a story. Computed with the fingerprint.
ALTER TABLE entry ADD COLUMN chrome BOOLEAN;

-- The story decision looks articles up by GUID.
CREATE INDEX article_guid_idx ON article (guid);

-- `newswatch rejudge` changes story_id on stored articles. After a crash,
-- DuckDB (1.5) can replay the write-ahead log so that an index on an updated
-- column disagrees with the table (see 007); story lookups scan instead.
DROP INDEX article_story_idx;
