-- The tamper-evident hash chain (docs/operations.md, "Tamper evidence").
-- eventlog_chain holds, per event seq, the digest of its user (kept when
-- forget-user erases the user's id and name), the seq of the entry it
-- follows and its chain hash; a side table, as in pgstore, so chaining a
-- fresh event is one more multi-row INSERT. Prune records the chain hash
-- of the last event it deleted before each surviving event in
-- eventlog_chain_checkpoint (before_seq 9223372036854775807: before the
-- next event written).

-- +goose Up
CREATE TABLE eventlog_chain (
    seq         BIGINT NOT NULL,
    user_digest BINARY(32) NULL,
    prev        BIGINT NOT NULL,
    hash        BINARY(32) NOT NULL,
    PRIMARY KEY (seq)
) ENGINE=InnoDB;

CREATE TABLE eventlog_chain_checkpoint (
    before_seq BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    hash       VARBINARY(32) NOT NULL,
    PRIMARY KEY (before_seq)
) ENGINE=InnoDB;

-- Events stored before this migration are chained by the next write, in
-- seq order, up to this seq (an empty hash marks the pending backfill).
INSERT INTO eventlog_chain_checkpoint (before_seq, seq, hash)
    SELECT -1, MAX(seq), '' FROM eventlog_events HAVING MAX(seq) IS NOT NULL;

-- +goose Down
DROP TABLE eventlog_chain_checkpoint;
DROP TABLE eventlog_chain;
