package eventlog

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// Outbox logs events inside the application's own database transaction (a
// transactional outbox): the events exist if and only if the transaction
// commits, and subscribers are notified only after Commit succeeds.
//
//	tx, _ := db.BeginTx(ctx, nil)
//	ob, _ := logger.OutboxSQL(tx)
//	... business writes with tx ...
//	ob.Log(ctx, "CREATED_FOO_WIDGET", eventlog.Extra{"title": "Foo"})
//	err := ob.Commit()
type Outbox struct {
	l        *Logger
	insert   func(ctx context.Context, events []Event) ([]Event, []bool, error)
	commit   func() error
	rollback func() error

	mu      sync.Mutex
	pending []Event
}

// NewOutbox builds an Outbox from a store's transactional insert and the
// transaction's commit and rollback. Store packages use it to offer
// outboxes for their own transaction types (pgstore for pgx.Tx).
func NewOutbox(l *Logger, insert func(ctx context.Context, events []Event) ([]Event, []bool, error), commit, rollback func() error) *Outbox {
	return &Outbox{l: l, insert: insert, commit: commit, rollback: rollback}
}

// OutboxSQL returns an Outbox over a database/sql transaction. The store
// must implement SQLTxStore and tx must be on the same database.
func (l *Logger) OutboxSQL(tx *sql.Tx) (*Outbox, error) {
	ts, ok := l.store.(SQLTxStore)
	if !ok {
		return nil, fmt.Errorf("eventlog: store %T cannot insert in a *sql.Tx: %w", l.store, ErrNotSupported)
	}
	return NewOutbox(l, func(ctx context.Context, events []Event) ([]Event, []bool, error) {
		return ts.InsertSQLTx(ctx, tx, events)
	}, tx.Commit, tx.Rollback), nil
}

// Log records an event in the transaction (arguments as Logger.Log).
func (o *Outbox) Log(ctx context.Context, action string, args ...any) (Event, error) {
	// Reuse Logger.Log's argument handling through a capturing write.
	e, err := o.l.buildEvent(action, args)
	if err != nil {
		return Event{}, err
	}
	return o.LogEvent(ctx, e)
}

// LogEvent records e in the transaction and returns it as stored.
func (o *Outbox) LogEvent(ctx context.Context, e Event) (Event, error) {
	if err := o.l.prepare(ctx, &e); err != nil {
		return Event{}, err
	}
	stored, inserted, err := o.insert(ctx, []Event{e})
	if err != nil {
		return Event{}, err
	}
	if inserted[0] {
		o.mu.Lock()
		o.pending = append(o.pending, stored[0])
		o.mu.Unlock()
	}
	return stored[0], nil
}

// Commit commits the transaction and then notifies subscribers of the
// events logged in it.
func (o *Outbox) Commit() error {
	if err := o.commit(); err != nil {
		return err
	}
	o.mu.Lock()
	p := o.pending
	o.pending = nil
	o.mu.Unlock()
	o.l.published(p, allTrue(len(p)))
	return nil
}

// Rollback rolls the transaction back; no event logged in it exists and
// no subscriber is notified.
func (o *Outbox) Rollback() error {
	o.mu.Lock()
	o.pending = nil
	o.mu.Unlock()
	return o.rollback()
}

func allTrue(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}
