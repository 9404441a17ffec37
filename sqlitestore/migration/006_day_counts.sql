-- Events per day over all actions: eventlog_day_counts holds, per UTC day
-- (Unix seconds), the sum of that day's eventlog_action_days counts, so a
-- year of daily totals (the dashboard's chart) reads 365 rows instead of
-- summing one row per action and day. Triggers on eventlog_action_days
-- apply every change to it (the insert path's upsert, prune).

-- +goose Up
CREATE TABLE eventlog_day_counts (
    day   INTEGER PRIMARY KEY,
    count INTEGER NOT NULL
);

INSERT INTO eventlog_day_counts (day, count)
    SELECT day, sum(count) FROM eventlog_action_days GROUP BY day;

-- +goose StatementBegin
CREATE TRIGGER eventlog_action_days_added AFTER INSERT ON eventlog_action_days
BEGIN
    INSERT INTO eventlog_day_counts (day, count) VALUES (NEW.day, NEW.count)
        ON CONFLICT (day) DO UPDATE SET count = count + excluded.count;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER eventlog_action_days_updated AFTER UPDATE OF count ON eventlog_action_days
BEGIN
    UPDATE eventlog_day_counts SET count = count + NEW.count - OLD.count WHERE day = NEW.day;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER eventlog_action_days_removed AFTER DELETE ON eventlog_action_days
BEGIN
    UPDATE eventlog_day_counts SET count = count - OLD.count WHERE day = OLD.day;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER eventlog_action_days_removed;
DROP TRIGGER eventlog_action_days_updated;
DROP TRIGGER eventlog_action_days_added;
DROP TABLE eventlog_day_counts;
