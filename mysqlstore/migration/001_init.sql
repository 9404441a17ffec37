-- The eventlog schema for MySQL 8 and MariaDB 10.6+ (the same tables and
-- meaning as the other stores; see docs/architecture.md).
--
-- Choices that differ from the other stores, and why:
--
--   * extra and context are MEDIUMTEXT utf8mb4_bin, not JSON. MySQL 8's
--     JSON type re-serializes documents (sorts keys, rewrites numbers), so
--     an event would not come back byte for byte; MariaDB's JSON is only a
--     LONGTEXT alias anyway. The where filter reads values with
--     JSON_EXTRACT/JSON_TYPE at query time instead. MEDIUMTEXT because
--     extra may be 64 KiB, one byte more than TEXT holds.
--   * user_id, object_type and object_id may be 1024 characters (4 KiB in
--     utf8mb4), more than an InnoDB index key holds (3072 bytes). They are
--     indexed through 16-byte keys the store computes (a truncated SHA-256
--     of the value): user_key, type_key and object_key. Queries compare
--     the key and the full value, so a match stays exact.
--   * action, user_id, user_name, object_type and object_id are VARBINARY
--     holding UTF-8 bytes, so that exact-match filters are exact: the _ci
--     collations make 'Alice' equal 'alice' and 'é' equal 'e', and even
--     utf8mb4_bin pads, making 'e1' equal 'e1 ' (MySQL 8 and MariaDB have
--     no NO PAD binary collation in common). Byte order is also the order
--     of the other stores. Text search converts them to utf8mb4 first.
--     id is ascii_bin so that it sorts like the other stores.
--   * eventlog_insert_lock has one row that every insert locks first, so
--     seq (AUTO_INCREMENT) order is commit order and ReadAfter never skips
--     an event committed late by a concurrent transaction.

-- +goose Up
CREATE TABLE eventlog_events (
    seq         BIGINT NOT NULL AUTO_INCREMENT,
    id          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    ts          BIGINT NOT NULL COMMENT 'microseconds since 1970-01-01 UTC',
    action      VARBINARY(512) NOT NULL COMMENT 'UTF-8, at most 128 characters',
    user_id     VARBINARY(4096) NULL COMMENT 'UTF-8, at most 1024 characters',
    user_name   VARBINARY(4096) NULL,
    user_key    BINARY(16) NULL COMMENT 'truncated SHA-256 of user_id',
    object_type VARBINARY(4096) NULL,
    object_id   VARBINARY(4096) NULL,
    type_key    BINARY(16) NULL COMMENT 'truncated SHA-256 of object_type',
    object_key  BINARY(16) NULL COMMENT 'truncated SHA-256 of object_type NUL object_id',
    extra       MEDIUMTEXT NOT NULL,
    context     MEDIUMTEXT NULL,
    PRIMARY KEY (seq),
    UNIQUE KEY eventlog_events_id (id),
    KEY eventlog_events_ts (ts, id),
    KEY eventlog_events_action (action, ts, id),
    KEY eventlog_events_user (user_key, ts, id),
    KEY eventlog_events_type (type_key, ts, id),
    KEY eventlog_events_object (object_key, ts, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- hour is the hour number since the Unix epoch (floor(ts / 3600e6)).
CREATE TABLE eventlog_action_hours (
    action VARBINARY(512) NOT NULL,
    hour   BIGINT NOT NULL,
    count  BIGINT NOT NULL,
    PRIMARY KEY (action, hour),
    KEY eventlog_action_hours_hour (hour, count)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- day is the day number since the Unix epoch. Daily counts let Actions
-- and day series read actions x days instead of actions x hours (353,000
-- hourly rows at 1M events over a year).
CREATE TABLE eventlog_action_days (
    action VARBINARY(512) NOT NULL,
    day    INT NOT NULL,
    count  BIGINT NOT NULL,
    PRIMARY KEY (action, day),
    KEY eventlog_action_days_day (day, count)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- first_seen and last_seen are microseconds, like eventlog_events.ts.
CREATE TABLE eventlog_actors (
    user_key   BINARY(16) NOT NULL,
    user_id    VARBINARY(4096) NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (user_key),
    KEY eventlog_actors_seen (last_seen, first_seen)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- day is the day number since the Unix epoch; hours has bit h set when
-- the user had an event in hour h (UTC) of that day, so the same rows
-- answer ActiveUsers by day and by hour.
CREATE TABLE eventlog_user_days (
    day      INT NOT NULL,
    user_key BINARY(16) NOT NULL,
    hours    INT UNSIGNED NOT NULL,
    PRIMARY KEY (day, user_key),
    KEY eventlog_user_days_user (user_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE eventlog_tokens (
    name       VARCHAR(128) NOT NULL,
    scope      VARCHAR(16) NOT NULL,
    hash       CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at BIGINT NOT NULL COMMENT 'microseconds since 1970-01-01 UTC',
    PRIMARY KEY (name),
    UNIQUE KEY eventlog_tokens_hash (hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE eventlog_admins (
    name          VARCHAR(128) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    created_at    BIGINT NOT NULL COMMENT 'microseconds since 1970-01-01 UTC',
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE eventlog_settings (
    `key` VARCHAR(128) NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (`key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE eventlog_insert_lock (
    id TINYINT NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB;

INSERT INTO eventlog_insert_lock (id) VALUES (1);

-- +goose Down
DROP TABLE eventlog_insert_lock;
DROP TABLE eventlog_settings;
DROP TABLE eventlog_admins;
DROP TABLE eventlog_tokens;
DROP TABLE eventlog_user_days;
DROP TABLE eventlog_actors;
DROP TABLE eventlog_action_days;
DROP TABLE eventlog_action_hours;
DROP TABLE eventlog_events;
