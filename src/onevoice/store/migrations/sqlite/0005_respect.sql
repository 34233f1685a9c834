-- Respect: the consent ledger, the customer's own contact budget, erasure tombstones
-- and the audit log. Times are ISO 8601 UTC text with a fixed width (sortable as text).

-- every consent change ever made, never updated in place: the latest per (purpose,
-- channel) is the consent in force. message_id: the event it came from (NULL for a
-- change made through /v1/me/consent); one event's change is recorded once.
CREATE TABLE consent_ledger (
    entry_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    profile_id   TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    channel      TEXT NOT NULL,
    granted      INTEGER NOT NULL,
    source       TEXT NOT NULL,
    legal_basis  TEXT NOT NULL,
    at           TEXT NOT NULL,
    message_id   TEXT
);
CREATE INDEX consent_by_profile ON consent_ledger (profile_id, at);
CREATE UNIQUE INDEX consent_once_per_event ON consent_ledger (message_id, purpose, channel)
    WHERE message_id IS NOT NULL;

-- the customer's own cap: at most max_contacts marketing contacts per period on a
-- channel ('*': all channels together)
CREATE TABLE contact_budgets (
    profile_id    TEXT NOT NULL,
    channel       TEXT NOT NULL,
    period        TEXT NOT NULL,
    max_contacts  INTEGER NOT NULL,
    at            TEXT NOT NULL,
    PRIMARY KEY (profile_id, channel, period)
);

-- keyed hashes of the identifiers of erased people: their events are not collected
-- again unless they give consent again
CREATE TABLE tombstones (
    key  TEXT PRIMARY KEY,
    at   TEXT NOT NULL
);

-- who did what: admin and erasure actions (never the personal data itself)
CREATE TABLE audit_log (
    audit_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit_log (at);
