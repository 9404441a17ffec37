-- +goose Up

-- Version 008 adds type_key to the MySQL store's user index. Migrations
-- are numbered alike across stores, so this one changes nothing here.
SELECT 1;

-- +goose Down
SELECT 1;
