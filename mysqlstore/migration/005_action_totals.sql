-- +goose Up

-- Version 005 gives the PostgreSQL store per-action and per-day totals of
-- its daily action rollup (eventlog_action_counts, eventlog_day_counts).
-- Migrations are numbered alike across stores, so this one changes
-- nothing here.
SELECT 1;

-- +goose Down
SELECT 1;
