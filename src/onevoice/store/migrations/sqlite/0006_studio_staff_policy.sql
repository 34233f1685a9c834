-- The Studio: staff who log in (roles agent, marketer, admin), their sessions, and the
-- contact policy as edited in the Studio (every version kept; the newest is in force).
-- Times are ISO 8601 UTC text with a fixed width (sortable as text).
CREATE TABLE staff_users (
    user_id        TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    disabled_at    TEXT
);

-- only a hash of the session token is kept; csrf_token is sent back with every form
CREATE TABLE staff_sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX staff_sessions_by_user ON staff_sessions (user_id);

CREATE TABLE policy_versions (
    version     INTEGER PRIMARY KEY AUTOINCREMENT,
    body        TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    at          TEXT NOT NULL
);
