-- +goose Up

-- Version 006 gives the SQLite store per-day totals of its daily action
-- rollup (eventlog_day_counts), as PostgreSQL has since 005. Migrations
-- are numbered alike across stores, so this one changes nothing here.
SELECT 1;

-- +goose Down
SELECT 1;
