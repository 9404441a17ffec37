-- +goose Up

-- Version 003 gives the PostgreSQL store the daily action rollup
-- (eventlog_action_days) that this store has had since 001. Migrations
-- are numbered alike across stores, so this one changes nothing here.
SELECT 1;

-- +goose Down
SELECT 1;
