-- Daily active users as a rollup: eventlog_active_days holds, per UTC
-- day, the number of distinct users with an event that day, which is
-- the number of eventlog_user_days rows of that day. ActiveUsers by day
-- then reads one row per day instead of counting a row per user and day
-- (millions at 10 million events). Triggers keep it equal to that count
-- through every path that adds or removes user-day rows (insert, prune,
-- forget-user): the insert path's ON CONFLICT DO NOTHING fires the
-- insert trigger only for a new (day, user).

-- +goose Up
CREATE TABLE eventlog_active_days (
    day   INTEGER PRIMARY KEY,
    users INTEGER NOT NULL
);

INSERT INTO eventlog_active_days (day, users)
    SELECT day, count(*) FROM eventlog_user_days GROUP BY day;

-- +goose StatementBegin
CREATE TRIGGER eventlog_user_days_added AFTER INSERT ON eventlog_user_days
BEGIN
    INSERT INTO eventlog_active_days (day, users) VALUES (NEW.day, 1)
        ON CONFLICT (day) DO UPDATE SET users = users + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER eventlog_user_days_removed AFTER DELETE ON eventlog_user_days
BEGIN
    UPDATE eventlog_active_days SET users = users - 1 WHERE day = OLD.day;
    DELETE FROM eventlog_active_days WHERE day = OLD.day AND users <= 0;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER eventlog_user_days_removed;
DROP TRIGGER eventlog_user_days_added;
DROP TABLE eventlog_active_days;
