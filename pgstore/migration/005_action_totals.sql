-- +goose Up

-- Totals of the daily action rollup, so that the action list (Actions)
-- and the all-actions daily series read one row per action or per day
-- instead of summing eventlog_action_days (about 100 actions x 365 days,
-- 20-35 ms a call at 1M events, paid by every admin page).
-- eventlog_action_counts: action -> events; eventlog_day_counts: day
-- (Unix seconds) -> events. Statement-level triggers on
-- eventlog_action_days apply each statement's changes (inserted rows,
-- updated counts, deleted rows) to both, through every path that writes
-- that rollup (insert, COPY, prune).
CREATE TABLE eventlog_action_counts (
    action text   PRIMARY KEY,
    count  bigint NOT NULL
) WITH (fillfactor = 70);

CREATE TABLE eventlog_day_counts (
    day   bigint PRIMARY KEY,
    count bigint NOT NULL
) WITH (fillfactor = 70);

INSERT INTO eventlog_action_counts (action, count)
SELECT action, sum(count) FROM eventlog_action_days GROUP BY action;

INSERT INTO eventlog_day_counts (day, count)
SELECT day, sum(count) FROM eventlog_action_days GROUP BY day;

-- +goose StatementBegin
CREATE FUNCTION eventlog_action_days_added() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO eventlog_action_counts AS r (action, count)
    SELECT action, sum(count) FROM eventlog_new_action_days GROUP BY action
    ON CONFLICT (action) DO UPDATE SET count = r.count + excluded.count;
    INSERT INTO eventlog_day_counts AS r (day, count)
    SELECT day, sum(count) FROM eventlog_new_action_days GROUP BY day
    ON CONFLICT (day) DO UPDATE SET count = r.count + excluded.count;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION eventlog_action_days_updated() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    -- (action, day) is the key and never updated: pair old and new rows by it.
    WITH d AS (
        SELECT n.action, n.day, n.count - o.count AS delta
        FROM eventlog_new_action_days n JOIN eventlog_old_action_days o USING (action, day)
    ), a AS (
        INSERT INTO eventlog_action_counts AS r (action, count)
        SELECT action, sum(delta) FROM d GROUP BY action
        ON CONFLICT (action) DO UPDATE SET count = r.count + excluded.count
    )
    INSERT INTO eventlog_day_counts AS r (day, count)
    SELECT day, sum(delta) FROM d GROUP BY day
    ON CONFLICT (day) DO UPDATE SET count = r.count + excluded.count;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION eventlog_action_days_removed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO eventlog_action_counts AS r (action, count)
    SELECT action, -sum(count) FROM eventlog_old_action_days GROUP BY action
    ON CONFLICT (action) DO UPDATE SET count = r.count + excluded.count;
    INSERT INTO eventlog_day_counts AS r (day, count)
    SELECT day, -sum(count) FROM eventlog_old_action_days GROUP BY day
    ON CONFLICT (day) DO UPDATE SET count = r.count + excluded.count;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER eventlog_action_days_added AFTER INSERT ON eventlog_action_days
    REFERENCING NEW TABLE AS eventlog_new_action_days
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_action_days_added();

CREATE TRIGGER eventlog_action_days_updated AFTER UPDATE ON eventlog_action_days
    REFERENCING OLD TABLE AS eventlog_old_action_days NEW TABLE AS eventlog_new_action_days
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_action_days_updated();

CREATE TRIGGER eventlog_action_days_removed AFTER DELETE ON eventlog_action_days
    REFERENCING OLD TABLE AS eventlog_old_action_days
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_action_days_removed();

-- +goose Down
DROP TRIGGER eventlog_action_days_removed ON eventlog_action_days;
DROP TRIGGER eventlog_action_days_updated ON eventlog_action_days;
DROP TRIGGER eventlog_action_days_added ON eventlog_action_days;
DROP FUNCTION eventlog_action_days_removed();
DROP FUNCTION eventlog_action_days_updated();
DROP FUNCTION eventlog_action_days_added();
DROP TABLE eventlog_day_counts;
DROP TABLE eventlog_action_counts;
