-- +goose Up

-- Daily active users as a rollup: eventlog_active_days holds, per day
-- (days since 1970-01-01 UTC, as in eventlog_user_days), the number of
-- distinct users with an event that day, which is the number of
-- eventlog_user_days rows of that day. ActiveUsers by day then reads one
-- row per day instead of counting a row per user and day (millions at
-- 10 million events). Triggers keep it equal to that count through
-- every path that adds or removes user-day rows (insert, prune,
-- forget-user): INSERT ... ON DUPLICATE KEY UPDATE fires the insert
-- trigger only for a new (day, user), and updating the hours bit set
-- changes no count.
CREATE TABLE eventlog_active_days (
    day   INT NOT NULL,
    users BIGINT NOT NULL,
    PRIMARY KEY (day)
) ENGINE=InnoDB;

INSERT INTO eventlog_active_days (day, users)
SELECT day, COUNT(*) FROM eventlog_user_days GROUP BY day;

CREATE TRIGGER eventlog_user_days_added AFTER INSERT ON eventlog_user_days FOR EACH ROW
    INSERT INTO eventlog_active_days (day, users) VALUES (NEW.day, 1)
    ON DUPLICATE KEY UPDATE users = users + 1;

CREATE TRIGGER eventlog_user_days_removed AFTER DELETE ON eventlog_user_days FOR EACH ROW
    UPDATE eventlog_active_days SET users = users - 1 WHERE day = OLD.day;

-- +goose Down
DROP TRIGGER eventlog_user_days_removed;
DROP TRIGGER eventlog_user_days_added;
DROP TABLE eventlog_active_days;
