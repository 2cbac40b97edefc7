SELECT s.article_id,
       (SELECT count(*) FROM unnest(string_to_array(s.tokens, ' ')) t WHERE t = ANY({tokens}))::float8
           / (10 + cardinality(string_to_array(s.tokens, ' '))) AS score
FROM article_search s
WHERE string_to_array(s.tokens, ' ') @> {tokens}
