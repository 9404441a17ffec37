-- +goose Up

-- extra is stored as json, not jsonb: json keeps the exact text the
-- application logged (key order, number spelling such as integers above
-- 2^53, escapes), which the Store contract requires byte for byte, while
-- the expression index on (extra::jsonb) below gives containment (@>)
-- with JSON-value semantics. Storing both a text and a jsonb column would
-- write every payload twice; the cast is paid only on insert and on
-- rechecks. context is fixed-shape metadata read back through
-- encoding/json, so jsonb is enough for it.
CREATE TABLE eventlog_events (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          uuid        NOT NULL UNIQUE,
    ts          timestamptz NOT NULL,
    action      text        NOT NULL,
    user_id     text,
    user_name   text,
    object_type text,
    object_id   text,
    extra       json        NOT NULL,
    context     jsonb
);

-- Keyset pagination: ORDER BY ts DESC, id DESC walks this index backwards.
CREATE INDEX eventlog_events_ts_id ON eventlog_events (ts, id);
CREATE INDEX eventlog_events_action_ts_id ON eventlog_events (action, ts, id);
CREATE INDEX eventlog_events_user_ts_id ON eventlog_events (user_id, ts, id) WHERE user_id IS NOT NULL;
CREATE INDEX eventlog_events_object_ts_id ON eventlog_events (object_type, object_id, ts, id) WHERE object_type IS NOT NULL;
CREATE INDEX eventlog_events_extra ON eventlog_events USING gin ((extra::jsonb) jsonb_path_ops);

-- Rollups, maintained in the transaction that inserts the events.
-- hour and day are Unix seconds of the bucket start (UTC).
-- The rollups are updated in place by every batch: a fillfactor below 100
-- leaves room on each page so those updates are HOT (no index writes), and
-- no index covers a column that changes.
CREATE TABLE eventlog_action_hours (
    action text   NOT NULL,
    hour   bigint NOT NULL,
    count  bigint NOT NULL,
    PRIMARY KEY (action, hour)
) WITH (fillfactor = 70);
CREATE INDEX eventlog_action_hours_hour ON eventlog_action_hours (hour);

-- Stats reads all of eventlog_actors (one row per user) in one pass; an
-- index on last_seen would make every batch's updates non-HOT.
CREATE TABLE eventlog_actors (
    user_id    text PRIMARY KEY,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL
) WITH (fillfactor = 70);

-- hours is a bit set of the UTC hours of that day (bit h = hour h) in
-- which the user had an event, so one table serves daily and hourly
-- active-user series.
CREATE TABLE eventlog_user_days (
    day     bigint  NOT NULL,
    user_id text    NOT NULL,
    hours   integer NOT NULL,
    PRIMARY KEY (day, user_id)
) WITH (fillfactor = 90);
-- No index on user_id: only ForgetUser, a rare request, looks rows up by
-- user, and a second index would be written for every new (day, user).

CREATE TABLE eventlog_tokens (
    name       text PRIMARY KEY,
    scope      text   NOT NULL,
    hash       text   NOT NULL UNIQUE,
    created_at bigint NOT NULL
);

CREATE TABLE eventlog_admins (
    name          text PRIMARY KEY,
    password_hash text   NOT NULL,
    created_at    bigint NOT NULL
);

CREATE TABLE eventlog_settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- Text search (Query.Text) uses a trigram index when pg_trgm can be
-- installed. Creating an extension needs a privilege many application
-- roles lack, so failure is a notice, not an error: queries then walk the
-- (ts, id) index and filter, which is correct but slower.
-- +goose StatementBegin
DO $$
DECLARE
    trgm_schema name;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'eventlog: pg_trgm not installed (%); text search will not be indexed', SQLERRM;
    END;
    SELECT extnamespace::regnamespace::name INTO trgm_schema FROM pg_extension WHERE extname = 'pg_trgm';
    IF trgm_schema IS NOT NULL THEN
        EXECUTE format(
            'CREATE INDEX eventlog_events_search ON eventlog_events USING gin ('
            || '(lower(action || chr(31) || coalesce(user_id, '''') || chr(31) || coalesce(user_name, '''') || chr(31) '
            || '|| coalesce(object_type, '''') || chr(31) || coalesce(object_id, '''') || chr(31) || extra::text)) %I.gin_trgm_ops)',
            trgm_schema);
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE eventlog_settings;
DROP TABLE eventlog_admins;
DROP TABLE eventlog_tokens;
DROP TABLE eventlog_user_days;
DROP TABLE eventlog_actors;
DROP TABLE eventlog_action_hours;
DROP TABLE eventlog_events;
