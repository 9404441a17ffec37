-- +goose Up

-- Version 007 adds object_type to the SQLite store's user index.
-- Migrations are numbered alike across stores, so this one changes
-- nothing here.
SELECT 1;

-- +goose Down
SELECT 1;
