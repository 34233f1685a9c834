-- Every decide reads the customer's recent decisions (contacts, the open conversation).
-- An index that carries the columns it reads answers with an index-only scan, without
-- touching the table, whose rows hold each decision's full explanation (kilobytes of
-- JSON): as the log grows, those reads would be random pages of a table far larger than
-- the cache.
CREATE INDEX decisions_by_subject_covering
    ON decisions (subject, at) INCLUDE (channel, chosen, conversation_id, decision_id);
DROP INDEX decisions_by_subject;
