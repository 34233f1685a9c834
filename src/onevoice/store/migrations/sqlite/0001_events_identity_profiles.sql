-- The event log, the identity graph, profiles, merges, keys.
-- Times are ISO 8601 UTC text with a fixed width (sortable as text).
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id   TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL,
    channel      TEXT NOT NULL,
    ts           TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    profile_id   TEXT,
    body         TEXT NOT NULL
);
CREATE INDEX events_by_profile ON events (profile_id, ts DESC, seq DESC);
-- the processor's queue: events not yet filed under a person
CREATE INDEX events_unprocessed ON events (seq) WHERE profile_id IS NULL;

CREATE TABLE nodes (
    key                TEXT PRIMARY KEY,
    type               TEXT NOT NULL,
    profile_id         TEXT NOT NULL,
    origin_profile_id  TEXT NOT NULL,
    seen_with          TEXT NOT NULL,
    shared             INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX nodes_by_profile ON nodes (profile_id);

CREATE TABLE profiles (
    profile_id   TEXT PRIMARY KEY,
    uniques      TEXT NOT NULL,
    identifiers  TEXT NOT NULL,
    blocked      TEXT NOT NULL,
    state        TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE merges (
    merge_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    winner      TEXT NOT NULL,
    loser       TEXT NOT NULL,
    rule        TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    via         TEXT NOT NULL,
    at          TEXT NOT NULL,
    undone_at   TEXT
);
CREATE INDEX merges_by_winner ON merges (winner);
CREATE INDEX merges_by_loser ON merges (loser);

CREATE TABLE refusals (
    refusal_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    profile_id        TEXT NOT NULL,
    other_profile_id  TEXT NOT NULL,
    reason            TEXT NOT NULL,
    message_id        TEXT NOT NULL,
    via               TEXT NOT NULL,
    at                TEXT NOT NULL
);

CREATE TABLE api_keys (
    key_id      TEXT PRIMARY KEY,
    key_hash    TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE cursors (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
