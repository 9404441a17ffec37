-- The tamper-evident hash chain (docs/operations.md, "Tamper evidence").
-- eventlog_chain holds, per event seq, the digest of its user (kept when
-- forget-user erases the user's id and name), the seq of the entry it
-- follows and its chain hash. It is a side table, as in the other
-- stores: chaining a batch appends to one small B-tree, where updating
-- the fresh event rows would rewrite each of them. Prune records the
-- chain hash of the last event it deleted before each surviving event in
-- eventlog_chain_checkpoint (before_seq 9223372036854775807: before the
-- next event written).

-- +goose Up
CREATE TABLE eventlog_chain (
    seq         INTEGER PRIMARY KEY,
    user_digest BLOB,
    prev        INTEGER NOT NULL,
    hash        BLOB    NOT NULL
);
CREATE TABLE eventlog_chain_checkpoint (
    before_seq INTEGER PRIMARY KEY,
    seq        INTEGER NOT NULL,
    hash       BLOB    NOT NULL
);
-- Events stored before this migration are chained by the next write, in
-- seq order, up to this seq (an empty hash marks the pending backfill).
INSERT INTO eventlog_chain_checkpoint (before_seq, seq, hash)
    SELECT -1, max(seq), x'' FROM eventlog_events HAVING max(seq) IS NOT NULL;

-- +goose Down
DROP TABLE eventlog_chain_checkpoint;
DROP TABLE eventlog_chain;
