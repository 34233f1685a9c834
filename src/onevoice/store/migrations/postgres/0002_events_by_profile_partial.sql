-- Only processed events belong in events_by_profile (every query on it names a
-- profile_id). Unprocessed events have their own index, events_unprocessed: with them in
-- both, SQLite planned the processor's queue read on events_by_profile and sorted the
-- whole backlog for every batch, and every append wrote one index entry more.
DROP INDEX events_by_profile;
CREATE INDEX events_by_profile ON events (profile_id, ts DESC, seq DESC)
    WHERE profile_id IS NOT NULL;
