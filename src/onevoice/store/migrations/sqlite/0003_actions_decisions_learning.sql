-- Deciding: the action catalog, the decision log, responses and the learner's state.
-- Times are ISO 8601 UTC text with a fixed width (sortable as text).
CREATE TABLE actions (
    action_id   TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- every decision with all its candidates, scores, reasons, propensity and model version
-- (body); the columns are what decide and the response join look up.
-- conversation_id: the decision that opened the conversation this one belongs to.
CREATE TABLE decisions (
    decision_id      TEXT PRIMARY KEY,
    subject          TEXT NOT NULL,
    channel          TEXT NOT NULL,
    at               TEXT NOT NULL,
    chosen           TEXT NOT NULL,
    conversation_id  TEXT,
    body             TEXT NOT NULL
);
CREATE INDEX decisions_by_subject ON decisions (subject, at);

-- one row per (decision, action, outcome): the same response twice counts once
CREATE TABLE responses (
    decision_id      TEXT NOT NULL,
    action_id        TEXT NOT NULL,
    outcome          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    channel          TEXT NOT NULL,
    conversation_id  TEXT,
    value            REAL,
    at               TEXT NOT NULL,
    PRIMARY KEY (decision_id, action_id, outcome)
);
CREATE INDEX responses_by_subject ON responses (subject, at);
CREATE INDEX responses_by_conversation ON responses (conversation_id);

CREATE TABLE learners (
    name        TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
