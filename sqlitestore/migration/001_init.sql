-- The shared eventlog schema (docs/architecture.md) for SQLite.
-- Timestamps are microseconds since the Unix epoch, UTC. Rollup buckets
-- (hour, day) are Unix seconds of the bucket start.

-- +goose Up
CREATE TABLE eventlog_events (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    ts          INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    user_id     TEXT,
    user_name   TEXT,
    object_type TEXT,
    object_id   TEXT,
    extra       TEXT    NOT NULL,
    context     TEXT
);
-- Keyset order for unfiltered, time-range, text and extra queries.
CREATE INDEX eventlog_events_ts ON eventlog_events (ts, id);
-- One index per equality filter, each ending in the keyset order so a
-- filtered page is a range walk, not a sort. A query for one object
-- (type and id) walks the object_id index and checks the type, which the
-- index carries last so no row is read for it: an id is shared by at most
-- a few types, and a (type, id, ts, id) index of its own would be one
-- more B-tree on random leaf pages for every insert.
CREATE INDEX eventlog_events_action ON eventlog_events (action, ts, id);
CREATE INDEX eventlog_events_user ON eventlog_events (user_id, ts, id);
CREATE INDEX eventlog_events_object_type ON eventlog_events (object_type, ts, id);
CREATE INDEX eventlog_events_object_id ON eventlog_events (object_id, ts, id, object_type);

CREATE TABLE eventlog_action_hours (
    action TEXT    NOT NULL,
    hour   INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (action, hour)
) WITHOUT ROWID;
-- Series over all actions reads a time range.
CREATE INDEX eventlog_action_hours_hour ON eventlog_action_hours (hour, count);

-- Daily counts so a year-long daily series reads days, not hours.
CREATE TABLE eventlog_action_days (
    action TEXT    NOT NULL,
    day    INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (action, day)
) WITHOUT ROWID;
CREATE INDEX eventlog_action_days_day ON eventlog_action_days (day, count);

-- Per-action totals so the action list never sums a year of hours.
CREATE TABLE eventlog_action_counts (
    action TEXT    PRIMARY KEY,
    count  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE eventlog_actors (
    user_id    TEXT    PRIMARY KEY,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX eventlog_actors_seen ON eventlog_actors (last_seen, first_seen);

CREATE TABLE eventlog_user_days (
    day     INTEGER NOT NULL,
    user_id TEXT    NOT NULL,
    PRIMARY KEY (day, user_id)
) WITHOUT ROWID;
-- ForgetUser removes one user's days.
CREATE INDEX eventlog_user_days_user ON eventlog_user_days (user_id);

CREATE TABLE eventlog_tokens (
    name       TEXT    PRIMARY KEY,
    scope      TEXT    NOT NULL,
    hash       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE eventlog_admins (
    name          TEXT    PRIMARY KEY,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE eventlog_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE eventlog_settings;
DROP TABLE eventlog_admins;
DROP TABLE eventlog_tokens;
DROP TABLE eventlog_user_days;
DROP TABLE eventlog_actors;
DROP TABLE eventlog_action_counts;
DROP TABLE eventlog_action_days;
DROP TABLE eventlog_action_hours;
DROP TABLE eventlog_events;
