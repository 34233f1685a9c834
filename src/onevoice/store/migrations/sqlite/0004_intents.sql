-- Real-time intent: each person's decaying signal state and current scores, and the
-- versions of intent definitions and trained models (the newest is the one in force).
-- Times are ISO 8601 UTC text with a fixed width (sortable as text).
CREATE TABLE intent_states (
    profile_id     TEXT PRIMARY KEY,
    state          TEXT NOT NULL,
    scores         TEXT NOT NULL,
    scored_at      TEXT NOT NULL,
    model_version  INTEGER NOT NULL
);

-- body: {"definitions": …, "models": {intent: {intercept, weights}} }; no models = hand rules
CREATE TABLE intent_models (
    version     INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    metrics     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
