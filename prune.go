package eventlog

import (
	"context"
	"slices"
	"time"
)

// Prune batch sizes.
const (
	DefaultPruneBatch = 1000
	MaxPruneBatch     = 100_000
)

// Pruner is implemented by stores that can delete old events (all three
// SQL stores do). Retention uses it: `eventlog prune` and `serve --retain`.
//
// Prune deletes in batches of PruneQuery.BatchSize events, each batch in
// its own short transaction, so writers and readers are never held up for
// long and an interrupted prune keeps what it did. Each batch updates the
// rollups with the events it deletes, so Actions, Series and ActiveUsers
// always describe exactly the events still stored. The actors rollup
// (first_seen, last_seen, which Stats reads) is left as it is: a person
// first seen two years ago is still first seen then after those events are
// pruned, so Stats keeps counting them as an active, returning user.
// ForgetUser is what removes a person.
type Pruner interface {
	// Prune deletes the events q selects and returns how many it deleted.
	// On error the batches already committed stay deleted.
	Prune(ctx context.Context, q PruneQuery) (int64, error)
	// CountPrunable returns how many events Prune(q) would delete now.
	CountPrunable(ctx context.Context, q PruneQuery) (int64, error)
}

// PruneQuery selects the events to prune: those older than Before and,
// when Actions is not empty, with one of these actions.
type PruneQuery struct {
	// Before deletes events with timestamp < Before. Required.
	Before time.Time
	// Actions limits pruning to these actions; empty means every action.
	Actions []string
	// Except keeps the events with these actions (a retention policy
	// that keeps some actions longer prunes them separately).
	Except []string
	// BatchSize is how many events one transaction deletes.
	// Defaults to 1000; at most 100000.
	BatchSize int
	// Progress, when set, is called after each committed batch with the
	// number of events deleted so far.
	Progress func(deleted int64)
}

// Normalize validates q and applies defaults. Errors are
// *ValidationError naming the field.
func (q *PruneQuery) Normalize() error {
	if q.Before.IsZero() {
		return invalid("before", "is required")
	}
	q.Before = q.Before.UTC().Truncate(time.Microsecond)
	if q.BatchSize == 0 {
		q.BatchSize = DefaultPruneBatch
	}
	if q.BatchSize < 1 || q.BatchSize > MaxPruneBatch {
		return invalid("batch", "must be between 1 and %d", MaxPruneBatch)
	}
	for _, list := range [][]string{q.Actions, q.Except} {
		for _, a := range list {
			if err := ValidateAction(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// Matches reports whether q selects e.
func (q PruneQuery) Matches(e Event) bool {
	if !e.Timestamp.Before(q.Before) || slices.Contains(q.Except, e.Action) {
		return false
	}
	if len(q.Actions) == 0 {
		return true
	}
	for _, a := range q.Actions {
		if a == e.Action {
			return true
		}
	}
	return false
}

// PruneBatches runs batch until it deletes fewer than q.BatchSize events,
// calling q.Progress after each, and returns the total. Stores implement
// Prune with it: batch deletes (and commits) one batch and returns its
// size.
func PruneBatches(ctx context.Context, q PruneQuery, batch func(ctx context.Context) (int64, error)) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := batch(ctx)
		total += n
		if err != nil {
			return total, err
		}
		if n > 0 && q.Progress != nil {
			q.Progress(total)
		}
		if n < int64(q.BatchSize) {
			return total, nil
		}
	}
}
