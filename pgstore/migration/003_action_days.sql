-- +goose Up

-- A daily action rollup, as the SQLite and MySQL stores keep since 001:
-- Actions and a year of daily Series then read ~365 rows per action
-- instead of ~8,760 hourly ones (312 ms and 87 ms at 1M events before).
-- Maintained in the insert and prune transactions like the hourly one;
-- filled here from the hourly rollup, which holds the same counts.
CREATE TABLE eventlog_action_days (
    action text   NOT NULL,
    day    bigint NOT NULL,
    count  bigint NOT NULL,
    PRIMARY KEY (action, day)
) WITH (fillfactor = 70);
CREATE INDEX eventlog_action_days_day ON eventlog_action_days (day);

INSERT INTO eventlog_action_days (action, day, count)
SELECT action, floor(hour::numeric / 86400)::bigint * 86400, sum(count)
FROM eventlog_action_hours
GROUP BY 1, 2
HAVING sum(count) > 0;

-- +goose Down
DROP TABLE eventlog_action_days;
