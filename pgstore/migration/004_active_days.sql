-- +goose Up

-- Daily active users as a rollup: eventlog_active_days holds, per UTC
-- day, the number of distinct users with an event that day, which is
-- the number of eventlog_user_days rows of that day. ActiveUsers by day
-- then reads one row per day instead of counting a row per user and day
-- (millions at 10 million events). Statement-level triggers keep it
-- equal to that count through every path that adds or removes user-day
-- rows (insert, prune, forget-user); the insert path's upsert puts only
-- the new (day, user) rows in the INSERT trigger's transition table.
-- Updates of the hours bit set change no count. search_path is fixed at
-- creation so the functions find the tables of this schema.
CREATE TABLE eventlog_active_days (
    day   bigint PRIMARY KEY,
    users bigint NOT NULL
) WITH (fillfactor = 70);

INSERT INTO eventlog_active_days (day, users)
SELECT day, count(*) FROM eventlog_user_days GROUP BY day;

-- +goose StatementBegin
CREATE FUNCTION eventlog_active_days_added() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO eventlog_active_days AS r (day, users)
    SELECT day, count(*) FROM eventlog_new_user_days GROUP BY day
    ON CONFLICT (day) DO UPDATE SET users = r.users + excluded.users;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION eventlog_active_days_removed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    WITH d AS (SELECT day, count(*) AS n FROM eventlog_old_user_days GROUP BY day)
    UPDATE eventlog_active_days r SET users = r.users - d.n FROM d WHERE r.day = d.day;
    DELETE FROM eventlog_active_days r USING (SELECT DISTINCT day FROM eventlog_old_user_days) d
    WHERE r.day = d.day AND r.users <= 0;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER eventlog_user_days_added AFTER INSERT ON eventlog_user_days
    REFERENCING NEW TABLE AS eventlog_new_user_days
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_active_days_added();

CREATE TRIGGER eventlog_user_days_removed AFTER DELETE ON eventlog_user_days
    REFERENCING OLD TABLE AS eventlog_old_user_days
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_active_days_removed();

-- +goose Down
DROP TRIGGER eventlog_user_days_removed ON eventlog_user_days;
DROP TRIGGER eventlog_user_days_added ON eventlog_user_days;
DROP FUNCTION eventlog_active_days_removed();
DROP FUNCTION eventlog_active_days_added();
DROP TABLE eventlog_active_days;
