-- The lapsed-conversation sweep reads recent impressions by time: a partial index keeps it
-- from scanning every response ever recorded.
CREATE INDEX responses_impressions_by_time ON responses (at) WHERE outcome = 'impression';
