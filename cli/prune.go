package cli

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlog/eventlog"
)

func init() { addCommand(newPruneCmd) }

// retainInterval is how often serve applies its retention policy.
const retainInterval = time.Hour

func newPruneCmd(e *env) *cobra.Command {
	var (
		before, olderThan string
		actions           []string
		dryRun            bool
		batch             int
	)
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete events older than a date or an age",
		Long: `prune deletes the events older than --before DATE (2025-01-01 or RFC 3339;
a date is midnight UTC) or --older-than AGE (400d, 52w, 12h), only those
with the given --action when it is repeated. Events at exactly the cut-off
are kept.

It deletes --batch (1000) events per transaction, oldest first, so the
database stays responsive and other writers wait at most one batch; an
interrupted prune keeps what it deleted. The counts of 'actions', series
and active users follow at once; 'stats' keeps counting people by when
they were first and last seen (use forget-user to remove a person).

--dry-run prints how many events would be deleted and deletes nothing.
On a terminal a progress bar is shown on stderr.

To keep an archive, export first:
  eventlog export --until 2025-01-01T00:00:00Z -o archive.jsonl`,
		Example: `  eventlog prune --before 2025-01-01
  eventlog prune --older-than 400d --dry-run
  eventlog prune --older-than 30d --action HEARTBEAT --action PAGE_VIEWED`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch < 1 || batch > eventlog.MaxPruneBatch {
				return usageErrorf("invalid --batch %d: must be between 1 and %d", batch, eventlog.MaxPruneBatch)
			}
			q := eventlog.PruneQuery{Actions: actions, BatchSize: batch}
			switch {
			case before != "" && olderThan != "":
				return usageErrorf("--before and --older-than cannot be used together")
			case before != "":
				t, err := parseDate(before)
				if err != nil {
					return err
				}
				q.Before = t
			case olderThan != "":
				d, err := eventlog.ParseAge(olderThan)
				if err != nil || d <= 0 {
					return usageErrorf("invalid --older-than %q: must be an age like 400d, 52w or 12h", olderThan)
				}
				q.Before = e.now().Add(-d)
			default:
				return usageErrorf("give --before DATE or --older-than AGE")
			}
			if err := q.Normalize(); err != nil {
				return asUsage(err, "--action")
			}
			ctx := cmd.Context()
			st, err := e.openStore(ctx, false)
			if err != nil {
				return err
			}
			defer st.Close()
			pr, ok := st.(eventlog.Pruner)
			if !ok {
				return fmt.Errorf("this store cannot prune: %w", eventlog.ErrNotSupported)
			}
			what := pruneDescription(q)
			if dryRun {
				n, err := pr.CountPrunable(ctx, q)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "Would delete %d %s%s.\n", n, plural(n, "event", "events"), what)
				return err
			}
			var bar *progress
			if isTerminal(e.stderr) {
				total, err := pr.CountPrunable(ctx, q)
				if err != nil {
					return err
				}
				bar = newProgress(e.stderr, total, "pruning", false)
				q.Progress = func(deleted int64) { bar.set(deleted) }
				defer bar.done()
			}
			n, err := pr.Prune(ctx, q)
			if err != nil {
				return fmt.Errorf("%w (%d events were deleted before the error)", err, n)
			}
			_, err = fmt.Fprintf(e.stdout, "Deleted %d %s%s.\n", n, plural(n, "event", "events"), what)
			return err
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&before, "before", "", "delete events before `DATE` (2025-01-01 or RFC 3339)")
	f.StringVar(&olderThan, "older-than", "", "delete events older than `AGE` (400d, 52w, 12h)")
	f.StringArrayVar(&actions, "action", nil, "delete only events with this `ACTION` (repeatable)")
	f.BoolVar(&dryRun, "dry-run", false, "print how many events would be deleted, delete nothing")
	f.IntVar(&batch, "batch", eventlog.DefaultPruneBatch, fmt.Sprintf("events deleted per transaction, 1 to %d", eventlog.MaxPruneBatch))
	return cmd
}

// parseDate reads --before: a date (midnight UTC) or an RFC 3339 time.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, usageErrorf("invalid --before %q: must be a date like 2025-01-01 or RFC 3339 like 2025-01-01T00:00:00Z", s)
}

// pruneDescription says which events a prune selects, for its report.
func pruneDescription(q eventlog.PruneQuery) string {
	s := " older than " + eventlog.FormatTime(q.Before)
	if len(q.Actions) > 0 {
		s += " with action " + strings.Join(q.Actions, ", ")
	}
	return s
}

// retention is serve's policy: events older than all are deleted, except
// the actions with their own age in perAction.
type retention struct {
	all       time.Duration // 0: keep actions without their own age
	perAction map[string]time.Duration
}

// parseRetention reads --retain and --retain-action ACTION=AGE.
func parseRetention(all string, perAction []string) (retention, error) {
	var r retention
	if all != "" {
		d, err := eventlog.ParseAge(all)
		if err != nil || d <= 0 {
			return r, usageErrorf("invalid --retain %q: must be an age like 400d, 52w or 12h", all)
		}
		r.all = d
	}
	for _, s := range perAction {
		action, age, ok := strings.Cut(s, "=")
		if !ok {
			return r, usageErrorf("invalid --retain-action %q: must be ACTION=AGE, like HEARTBEAT=30d", s)
		}
		if err := eventlog.ValidateAction(action); err != nil {
			return r, asUsage(err, "--retain-action")
		}
		d, err := eventlog.ParseAge(age)
		if err != nil || d <= 0 {
			return r, usageErrorf("invalid --retain-action %q: the age must be like 30d, 52w or 12h", s)
		}
		if r.perAction == nil {
			r.perAction = map[string]time.Duration{}
		}
		if _, dup := r.perAction[action]; dup {
			return r, usageErrorf("invalid --retain-action %q: %s is given twice", s, action)
		}
		r.perAction[action] = d
	}
	return r, nil
}

// enabled reports whether the policy deletes anything.
func (r retention) enabled() bool { return r.all > 0 || len(r.perAction) > 0 }

// queries returns the prunes that apply the policy at now: one per action
// with its own age, then one for every other action.
func (r retention) queries(now time.Time) []eventlog.PruneQuery {
	var qs []eventlog.PruneQuery
	actions := make([]string, 0, len(r.perAction))
	for a := range r.perAction {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	for _, a := range actions {
		qs = append(qs, eventlog.PruneQuery{Before: now.Add(-r.perAction[a]), Actions: []string{a}})
	}
	if r.all > 0 {
		qs = append(qs, eventlog.PruneQuery{Before: now.Add(-r.all), Except: slices.Clone(actions)})
	}
	return qs
}

// apply prunes once by the policy and returns how many events it deleted.
func (r retention) apply(ctx context.Context, pr eventlog.Pruner, now time.Time) (int64, error) {
	var total int64
	for _, q := range r.queries(now) {
		n, err := pr.Prune(ctx, q)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// runRetention applies the policy now and then every interval until ctx
// is done, logging what each run deleted and any error.
func runRetention(ctx context.Context, r retention, pr eventlog.Pruner, now func() time.Time, interval time.Duration, log *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		start := time.Now()
		n, err := r.apply(ctx, pr, now())
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Error("retention: prune failed; retrying at the next run", "error", err, "deleted", n)
		case n > 0:
			log.Info("retention: pruned old events", "deleted", n, "took", time.Since(start).Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// startRetention starts serve's retention loop when --retain or
// --retain-action is given. stop ends it and waits, so the store is not
// closed under a prune.
func startRetention(ctx context.Context, e *env, store eventlog.Store, o serveOptions, log *slog.Logger) (stop func(), err error) {
	r, err := parseRetention(o.retain, o.retainActions)
	if err != nil || !r.enabled() {
		return func() {}, err
	}
	pr, ok := store.(eventlog.Pruner)
	if !ok {
		return nil, fmt.Errorf("--retain: this store cannot prune: %w", eventlog.ErrNotSupported)
	}
	interval := o.retainInterval
	if interval <= 0 {
		interval = retainInterval
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runRetention(ctx, r, pr, e.now, interval, log)
	}()
	return func() { cancel(); <-done }, nil
}
