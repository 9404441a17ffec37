package cli

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/dial"
	"github.com/eventlog/eventlog/internal/gen"
	"github.com/eventlog/eventlog/mysqlstore"
	"github.com/eventlog/eventlog/pgstore"
	"github.com/eventlog/eventlog/sqlitestore"
)

func init() { addCommand(newBenchCmd) }

// benchOptions are the flags of `eventlog bench`.
type benchOptions struct {
	events     int64
	batch      int
	ingestTime time.Duration
	runs       int
	queryTime  time.Duration
	format     string
	seed       uint64
	// loadOnly stops after the load (and the statistics refresh);
	// queriesOnly skips the load, the raw limit and the Logger and
	// measures an already-loaded database without writing to it.
	loadOnly    bool
	queriesOnly bool
	// rawEvents is how many of the generated events the raw limit
	// writes (0: all of them).
	rawEvents int64
	// bulk loads with the store's BulkLoad (pgstore, mysqlstore)
	// instead of Store.Insert.
	bulk bool
	// minRuns is the fewest timed runs of a query, whatever queryTime.
	minRuns int
}

func newBenchCmd(e *env) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load generated events into an empty database and measure ingest, queries and size",
		Long: `bench measures this machine and database, so two runs can be compared:

  1. load --events generated events (Zipf actions over 100 kinds, users over
     100,000, a year of timestamps, extra of 100-400 bytes) with Store.Insert
     in batches of --batch, as 'eventlog import' would;
  2. the raw limit of the same rows in the same database: PostgreSQL COPY
     into a bare copy of the events table (same columns and indexes, no
     rollups), SQLite batched inserts into a bare table with the same
     indexes in a file beside the database; both are removed afterwards;
  3. the Logger for --ingest-time each: Sync with 1 and 64 goroutines
     (every call returns after its commit), Async (until Flush returns);
  4. query latency p50/p95/p99 over --runs runs (at most --query-time per
     query): first page, each filter, combinations, page 1,000 by cursor,
     text search, stats, series, actions;
  5. bytes on disk per event.

The database must be empty: bench refuses one that already holds events,
so it never mixes its data with yours. It leaves the loaded events there;
drop the database or schema when done.

Large runs can be split: --load-only does step 1 (and the statistics
refresh) and reports the load rate and disk use; --queries-only measures
steps 4 and 5 on a database bench already loaded, writing nothing to it,
as often as wanted. --raw-events limits step 2 to the first N events, so
the raw limit of a 10,000,000-event load need not write 10,000,000 more.
On PostgreSQL and MySQL/MariaDB, --load-only --bulk fills the database
several times faster with the store's BulkLoad (one transaction; on
PostgreSQL COPY with the secondary indexes rebuilt after, on MySQL the
non-unique indexes dropped before and rebuilt after), storing exactly what
Store.Insert would. On PostgreSQL choose a schema with
search_path, e.g. postgres://postgres@localhost/test?search_path=bench.
See docs/benchmarks.md for recorded runs.`,
		Example: `  eventlog bench --db sqlite:/tmp/bench.db
  eventlog bench --db 'postgres://postgres@localhost/test?search_path=bench' --events 100000 --format json
  eventlog bench --db sqlite:/tmp/tenm.db --events 10000000 --load-only
  eventlog bench --db mysql://root@localhost:3306/tenm --events 10000000 --load-only --bulk
  eventlog bench --db sqlite:/tmp/tenm.db --queries-only --runs 200`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case o.events < 1000:
				return usageErrorf("invalid --events %d: must be at least 1000", o.events)
			case o.batch < 1 || o.batch > 10000:
				return usageErrorf("invalid --batch %d: must be from 1 to 10000", o.batch)
			case o.ingestTime <= 0:
				return usageErrorf("invalid --ingest-time %v: must be positive", o.ingestTime)
			case o.runs < 1:
				return usageErrorf("invalid --runs %d: must be positive", o.runs)
			case o.queryTime <= 0:
				return usageErrorf("invalid --query-time %v: must be positive", o.queryTime)
			case o.minRuns < 1:
				return usageErrorf("invalid --min-runs %d: must be positive", o.minRuns)
			case o.format != "table" && o.format != "json":
				return usageErrorf("invalid --format %q: must be table or json", o.format)
			case o.loadOnly && o.queriesOnly:
				return usageErrorf("--load-only and --queries-only exclude each other")
			case o.bulk && !o.loadOnly:
				return usageErrorf("--bulk is for --load-only: it measures a faster way to fill a database, not the store's write path")
			case o.bulk && !slices.ContainsFunc([]string{"postgres:", "postgresql:", "mysql:", "mariadb:"}, func(p string) bool { return strings.HasPrefix(e.databaseURL(), p) }):
				return usageErrorf("--bulk needs a PostgreSQL or MySQL/MariaDB --db (postgres://..., mysql://...), not %s", dial.Redact(e.databaseURL()))
			case o.rawEvents < 0 || o.rawEvents > o.events:
				return usageErrorf("invalid --raw-events %d: must be from 0 (all) to --events (%d)", o.rawEvents, o.events)
			}
			return runBench(cmd.Context(), e, o)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&o.events, "events", 1_000_000, "number of generated events to load")
	f.IntVar(&o.batch, "batch", 1000, "events per Store.Insert while loading")
	f.DurationVar(&o.ingestTime, "ingest-time", 5*time.Second, "how long each Logger mode is measured")
	f.IntVar(&o.runs, "runs", 50, "runs of each query for its percentiles")
	f.DurationVar(&o.queryTime, "query-time", 10*time.Second, "most time spent on one query's runs (at least --min-runs runs are made)")
	f.IntVar(&o.minRuns, "min-runs", 5, "fewest timed runs of each query, even past --query-time (1 keeps a full-scan query at 10,000,000 events to a warm-up and one run)")
	f.StringVar(&o.format, "format", "table", "report format: table or json")
	f.Uint64Var(&o.seed, "seed", 1, "generator seed; equal seeds load equal events")
	f.BoolVar(&o.loadOnly, "load-only", false, "only load the events (and refresh statistics), then report the load rate and disk use")
	f.BoolVar(&o.queriesOnly, "queries-only", false, "only measure queries and disk use on a database bench already loaded; writes nothing")
	f.BoolVar(&o.bulk, "bulk", false, "with --load-only on PostgreSQL or MySQL/MariaDB: load with the store's BulkLoad (one transaction, indexes rebuilt after) instead of Store.Insert; same stored data")
	f.Int64Var(&o.rawEvents, "raw-events", 0, "events the raw limit writes (0: as many as --events)")
	return cmd
}

// benchReport is what bench prints; --format json writes it as is.
type benchReport struct {
	Method   string        `json:"method"`
	Machine  benchMachine  `json:"machine"`
	Database string        `json:"database"`
	Events   int64         `json:"events"`
	Ingest   []benchIngest `json:"ingest"`
	Queries  []benchQuery  `json:"queries"`
	Disk     benchDisk     `json:"disk"`
	// PeakRSSBytes is the bench process's peak resident set (the client
	// side, and the whole server for SQLite).
	PeakRSSBytes int64  `json:"peak_rss_bytes"`
	Took         string `json:"took"`
}

type benchMachine struct {
	CPU         string `json:"cpu"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes"`
	GoVersion   string `json:"go_version"`
	OS          string `json:"os"`
	LoadAverage string `json:"load_average"`
}

type benchIngest struct {
	Name         string  `json:"name"`
	Events       int64   `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	Note         string  `json:"note,omitempty"`
}

type benchQuery struct {
	Name string  `json:"name"`
	Runs int     `json:"runs"`
	Rows int     `json:"rows"`
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
}

type benchDisk struct {
	Bytes         int64   `json:"bytes"`
	Events        int64   `json:"events"`
	BytesPerEvent float64 `json:"bytes_per_event"`
	What          string  `json:"what"`
}

const benchMethod = "events from internal/gen (seed --seed); load = Store.Insert in batches of --batch, one goroutine, then VACUUM (ANALYZE) on PostgreSQL or ANALYZE TABLE on MySQL as background maintenance would; " +
	"raw = the same rows into a bare table with the same indexes (PostgreSQL COPY, SQLite batched INSERT in one transaction per batch); " +
	"Logger modes on the loaded store for --ingest-time each with fresh events; " +
	"queries run sequentially, one client, after the load; percentiles by nearest rank over the runs"

func runBench(ctx context.Context, e *env, o benchOptions) error {
	start := time.Now()
	url := e.databaseURL()
	// --queries-only writes nothing, not even a migration, nor a new
	// SQLite file (Open gives a new file the schema).
	if o.queriesOnly {
		if path, _, err := sqlitestore.ParseURL(url); err == nil {
			if _, err := os.Stat(path); err != nil {
				return usageErrorf("--db %s: %v; --queries-only measures a database bench loaded before (run bench --load-only first)", dial.Redact(url), err)
			}
		}
	}
	store, err := dial.Open(ctx, url, dial.Options{Migrate: !o.queriesOnly})
	if err != nil {
		return err
	}
	defer store.Close()
	page, err := store.Query(ctx, eventlog.Query{Limit: 1})
	if err != nil {
		return err
	}
	switch {
	case o.queriesOnly && len(page.Events) == 0:
		return usageErrorf("--db %s holds no events; --queries-only measures a database bench loaded before (run bench --load-only first)", dial.Redact(url))
	case !o.queriesOnly && len(page.Events) > 0:
		return usageErrorf("--db %s already holds events; bench needs an empty database (or PostgreSQL schema) because it loads generated events into it (--queries-only measures one it loaded before)", dial.Redact(url))
	}
	progress := func(format string, args ...any) {
		if o.format == "table" {
			fmt.Fprintf(e.stderr, "bench: "+format+"\n", args...)
		}
	}
	method := benchMethod
	if o.bulk {
		method = strings.Replace(method, "load = Store.Insert in batches of --batch", "load = the store's BulkLoad (--bulk) in batches of --batch", 1)
	}
	r := benchReport{Method: method, Machine: machine(), Database: dial.Redact(url), Events: o.events}
	if o.queriesOnly {
		r.Events = 0 // not loaded by this run; the disk figure counts them
	} else {
		if err := benchWrites(ctx, store, o, &r, progress); err != nil {
			return err
		}
	}
	if !o.loadOnly {
		progress("queries, %d runs each", o.runs)
		if r.Queries, err = benchQueries(ctx, store, o); err != nil {
			return err
		}
	}
	if r.Disk, err = diskUse(ctx, store, url); err != nil {
		return fmt.Errorf("measuring disk use: %w", err)
	}
	r.Machine.LoadAverage = machine().LoadAverage // at the end, as printed
	r.PeakRSSBytes = peakRSS()
	r.Took = time.Since(start).Round(time.Second).String()
	if o.format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return r.print(e.stdout)
}

// benchWrites is the load, the raw limit and the Logger phases.
func benchWrites(ctx context.Context, store eventlog.Store, o benchOptions, r *benchReport, progress func(string, ...any)) error {
	how := "Store.Insert"
	var bulk interface {
		BulkLoad(context.Context, iter.Seq[[]eventlog.Event]) (int64, error)
	}
	bulkNote := ""
	if o.bulk {
		switch s := store.(type) {
		case *pgstore.Store:
			bulk, how, bulkNote = s, "pgstore BulkLoad", "COPY with the secondary indexes rebuilt after, chain per batch, rollups at the end"
		case *mysqlstore.Store:
			bulk, how, bulkNote = s, "mysqlstore BulkLoad", "multi-row INSERTs in one transaction, non-unique indexes rebuilt after, chain per batch, rollups summed over batches"
		default:
			return usageErrorf("--bulk needs a PostgreSQL or MySQL/MariaDB database, not %T", store)
		}
	}
	progress("loading %d events with %s in batches of %d", o.events, how, o.batch)
	g, err := gen.New(&gen.Config{Seed: o.seed, Events: o.events})
	if err != nil {
		return err
	}
	loadStart := time.Now()
	var loaded int64
	step := max(o.events/20, 1)
	var copied time.Duration
	counted := func(yield func([]eventlog.Event) bool) {
		defer func() { copied = time.Since(loadStart) }()
		for batch := range g.Batches(o.batch) {
			if !yield(batch) {
				return
			}
			before := loaded
			loaded += int64(len(batch))
			if loaded/step != before/step && loaded < o.events {
				d := time.Since(loadStart)
				progress("loaded %d events in %v (%.0f events/s)", loaded, d.Round(time.Second), float64(loaded)/d.Seconds())
			}
		}
	}
	if bulk != nil {
		if _, err := bulk.BulkLoad(ctx, counted); err != nil {
			return fmt.Errorf("loading: %w", err)
		}
		progress("written and chained in %v; rollups and indexes done by %v", copied.Round(time.Second), time.Since(loadStart).Round(time.Second))
		r.Ingest = append(r.Ingest, rate(fmt.Sprintf("%s, batches of %d", how, o.batch), o.events, time.Since(loadStart), bulkNote))
	} else {
		for batch := range counted {
			if _, _, err := store.Insert(ctx, batch); err != nil {
				return fmt.Errorf("loading: %w", err)
			}
		}
		r.Ingest = append(r.Ingest, rate(fmt.Sprintf("Store.Insert, batches of %d", o.batch), o.events, time.Since(loadStart), "rollups maintained in the same transaction"))
	}
	progress("refreshing statistics")
	if err := settle(ctx, store); err != nil {
		return fmt.Errorf("refreshing statistics after the load: %w", err)
	}
	if o.loadOnly {
		return nil
	}

	progress("raw limit: the same rows into a bare table")
	if raw, err := rawLimit(ctx, store, o); err != nil {
		return fmt.Errorf("raw limit: %w", err)
	} else if raw != nil {
		r.Ingest = append(r.Ingest, *raw)
	}

	for _, m := range []struct {
		name       string
		mode       eventlog.Mode
		goroutines int
	}{
		{"Logger Sync, 1 goroutine", eventlog.Sync, 1},
		{"Logger Sync, 64 goroutines", eventlog.Sync, 64},
		{"Logger Async, 1 goroutine, until Flush", eventlog.Async, 1},
	} {
		progress("%s for %v", m.name, o.ingestTime)
		res, err := loggerIngest(ctx, store, m.mode, m.goroutines, o)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		res.Name = m.name
		r.Ingest = append(r.Ingest, res)
	}
	return nil
}

func rate(name string, n int64, d time.Duration, note string) benchIngest {
	return benchIngest{Name: name, Events: n, Seconds: d.Seconds(), EventsPerSec: float64(n) / d.Seconds(), Note: note}
}

// settle does what the server's background maintenance would do soon
// after a bulk load, so queries are planned as they would be in service:
// on PostgreSQL VACUUM (ANALYZE) of the eventlog tables (fresh statistics,
// GIN pending lists merged), on MySQL ANALYZE TABLE. SQLite plans without
// statistics.
func settle(ctx context.Context, store eventlog.Store) error {
	sq, ok := store.(eventlog.SQLStore)
	if !ok {
		return nil
	}
	var stmts []string
	switch sq.Dialect() {
	case "postgres":
		stmts = []string{"VACUUM (ANALYZE) eventlog_events", "VACUUM (ANALYZE) eventlog_action_hours", "VACUUM (ANALYZE) eventlog_action_days",
			"VACUUM (ANALYZE) eventlog_actors", "VACUUM (ANALYZE) eventlog_user_days", "VACUUM (ANALYZE) eventlog_chain",
			"VACUUM (ANALYZE) eventlog_active_days", "VACUUM (ANALYZE) eventlog_action_counts", "VACUUM (ANALYZE) eventlog_day_counts"}
	case "mysql":
		stmts = []string{"ANALYZE TABLE eventlog_events"}
	}
	for _, q := range stmts {
		rows, err := sq.SQLDB().QueryContext(ctx, q)
		if err != nil {
			return err
		}
		rows.Close()
	}
	return nil
}

// rawLimit writes the same generated rows into a bare table with the
// events table's indexes and no rollups: the most the database does for
// these rows on this machine. It returns nil for a store it cannot
// measure.
func rawLimit(ctx context.Context, store eventlog.Store, o benchOptions) (*benchIngest, error) {
	if o.rawEvents > 0 {
		o.events = o.rawEvents // the first rawEvents of the same sequence
	}
	g, err := gen.New(&gen.Config{Seed: o.seed, Events: o.events})
	if err != nil {
		return nil, err
	}
	switch s := store.(type) {
	case *pgstore.Store:
		return rawPostgres(ctx, s, g, o)
	case *sqlitestore.Store:
		return rawSQLite(ctx, s, g, o)
	}
	return nil, nil
}

func rawPostgres(ctx context.Context, s *pgstore.Store, g *gen.Generator, o benchOptions) (*benchIngest, error) {
	pool := s.Pool()
	const table = "eventlog_bench_raw"
	if _, err := pool.Exec(ctx, "DROP TABLE IF EXISTS "+table+"; CREATE TABLE "+table+" (LIKE eventlog_events INCLUDING ALL)"); err != nil {
		return nil, err
	}
	defer pool.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+table)
	cols := []string{"id", "ts", "action", "user_id", "user_name", "object_type", "object_id", "extra", "context"}
	start := time.Now()
	for batch := range g.Batches(o.batch) {
		rows := make([][]any, len(batch))
		for i, e := range batch {
			rows[i] = rawRow(e)
		}
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows)); err != nil {
			return nil, err
		}
	}
	r := rate(fmt.Sprintf("raw: PostgreSQL COPY, batches of %d", o.batch), o.events, time.Since(start), "bare copy of eventlog_events (LIKE ... INCLUDING ALL), no rollups")
	return &r, nil
}

// rawRow is an event as the columns id, ts, action, user_id, user_name,
// object_type, object_id, extra, context.
func rawRow(e eventlog.Event) []any {
	var uid, uname, otype, oid, ctxJSON any
	if e.User != nil {
		uid, uname = e.User.ID, e.User.Name
	}
	if e.Object != nil {
		otype, oid = e.Object.Type, e.Object.ID
	}
	if !e.Context.IsZero() {
		b, _ := json.Marshal(e.Context)
		ctxJSON = string(b)
	}
	return []any{e.ID, e.Timestamp, e.Action, uid, uname, otype, oid, string(e.Extra), ctxJSON}
}

func rawSQLite(ctx context.Context, s *sqlitestore.Store, g *gen.Generator, o benchOptions) (*benchIngest, error) {
	var schema []string
	rows, err := s.SQLDB().QueryContext(ctx, "SELECT sql FROM sqlite_master WHERE tbl_name = 'eventlog_events' AND sql IS NOT NULL ORDER BY type DESC")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var stmt string
		if err := rows.Scan(&stmt); err != nil {
			rows.Close()
			return nil, err
		}
		schema = append(schema, stmt)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	var file string
	if err := s.SQLDB().QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
		return nil, err
	}
	path := filepath.Join(filepath.Dir(file), "eventlog-bench-raw-"+strconv.Itoa(os.Getpid())+".db")
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
	}()
	// The same driver and pragmas as the store's writer: WAL, FULL sync.
	raw, err := sqlitestore.Open(ctx, path, nil)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	db := raw.SQLDB()
	if _, err := db.ExecContext(ctx, "DROP TABLE eventlog_events"); err != nil {
		return nil, err
	}
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	for batch := range g.Batches(o.batch) {
		if err := rawSQLiteBatch(ctx, db, batch); err != nil {
			return nil, err
		}
	}
	r := rate(fmt.Sprintf("raw: SQLite batched INSERT, batches of %d", o.batch), o.events, time.Since(start), "bare eventlog_events with its indexes in a new file beside the database, no rollups")
	return &r, nil
}

func rawSQLiteBatch(ctx context.Context, db *sql.DB, batch []eventlog.Event) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO eventlog_events (id, ts, action, user_id, user_name, object_type, object_id, extra, context) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, e := range batch {
		row := rawRow(e)
		row[1] = e.Timestamp.UnixMicro()
		if _, err := stmt.ExecContext(ctx, row...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// loggerIngest logs fresh events through a Logger of the given mode from
// goroutines callers for o.ingestTime; Async is measured until Flush
// returns, so every counted event is stored.
func loggerIngest(ctx context.Context, store eventlog.Store, mode eventlog.Mode, goroutines int, o benchOptions) (benchIngest, error) {
	logger, err := eventlog.New(store, &eventlog.Config{Mode: mode, RedactKeys: []string{}})
	if err != nil {
		return benchIngest{}, err
	}
	defer logger.Close()
	// Fresh events near now, so they never collide with the loaded ones.
	g, err := gen.New(&gen.Config{Seed: o.seed + uint64(mode)*100 + uint64(goroutines) + 1, End: time.Now(), Span: time.Hour})
	if err != nil {
		return benchIngest{}, err
	}
	var (
		mu    sync.Mutex
		count atomic.Int64
		wg    sync.WaitGroup
		errs  = make(chan error, goroutines)
	)
	next := func() eventlog.Event { mu.Lock(); defer mu.Unlock(); return g.Next() }
	deadline := time.Now().Add(o.ingestTime)
	start := time.Now()
	for range goroutines {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := logger.LogEvent(ctx, next()); err != nil {
					errs <- err
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	if err := logger.Flush(ctx); err != nil {
		return benchIngest{}, err
	}
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return benchIngest{}, err
	}
	m := logger.Metrics()
	note := ""
	if m.Batches > 0 {
		note = fmt.Sprintf("%.1f events per transaction", float64(m.Written)/float64(m.Batches))
	}
	return rate("", count.Load(), took, note), nil
}

// benchQueries times the query kinds a dashboard and the API run.
func benchQueries(ctx context.Context, store eventlog.Store, o benchOptions) ([]benchQuery, error) {
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // gen's default End
	mid := end.Add(-182 * 24 * time.Hour)
	top, rare := gen.ActionName(0), gen.ActionName(50)
	pro := eventlog.Where{Key: "plan", Value: "pro"}
	queries := []struct {
		name string
		q    eventlog.Query
	}{
		{"first page (50, no filter)", eventlog.Query{}},
		{"action = most frequent", eventlog.Query{Actions: []string{top}}},
		{"action = rank 50", eventlog.Query{Actions: []string{rare}}},
		{"user = most active", eventlog.Query{UserID: gen.UserID(0)}},
		{"user = rank 5,000", eventlog.Query{UserID: gen.UserID(5000)}},
		{"object type + id", eventlog.Query{ObjectType: "widget", ObjectID: "1"}},
		{"since/until one day mid-year", eventlog.Query{Since: mid, Until: mid.Add(24 * time.Hour)}},
		{"where plan=pro", eventlog.Query{Where: []eventlog.Where{pro}}},
		{"q = common word (coupon)", eventlog.Query{Text: "coupon"}},
		{"q = absent word (zebra)", eventlog.Query{Text: "zebra", Limit: 10}},
		{"action + user", eventlog.Query{Actions: []string{top}, UserID: gen.UserID(0)}},
		{"action + since 7 days", eventlog.Query{Actions: []string{rare}, Since: end.Add(-7 * 24 * time.Hour)}},
		{"action + where status=404", eventlog.Query{Actions: []string{top}, Where: []eventlog.Where{{Key: "status", Value: 404.0}}}},
		{"user + object type + where", eventlog.Query{UserID: gen.UserID(1), ObjectType: "order", Where: []eventlog.Where{pro}}},
	}
	var out []benchQuery
	for _, c := range queries {
		q := c.q
		if err := q.Normalize(); err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		rows := 0
		res, err := timeRuns(c.name, o, func() error {
			page, err := store.Query(ctx, q)
			rows = len(page.Events)
			return err
		})
		if err != nil {
			return nil, err
		}
		res.Rows = rows
		out = append(out, res)
	}

	// Page 1,000: walk there once by cursor, then time that page.
	deep := eventlog.Query{Limit: 50}
	for range 999 {
		page, err := store.Query(ctx, deep)
		if err != nil {
			return nil, err
		}
		if page.Next == nil {
			break
		}
		deep.After = page.Next
	}
	rows := 0
	res, err := timeRuns("page 1,000 by cursor (50 per page)", o, func() error {
		page, err := store.Query(ctx, deep)
		rows = len(page.Events)
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Rows = rows
	out = append(out, res)

	others := []struct {
		name string
		fn   func() (int, error)
	}{
		{"stats", func() (int, error) { _, err := store.Stats(ctx, end); return 4, err }},
		{"series, 365 days by day", func() (int, error) {
			b, err := store.Series(ctx, eventlog.SeriesQuery{Interval: eventlog.Day, Since: end.Add(-365 * 24 * time.Hour), Until: end})
			return len(b), err
		}},
		{"series, 7 days by hour, one action", func() (int, error) {
			b, err := store.Series(ctx, eventlog.SeriesQuery{Interval: eventlog.Hour, Since: end.Add(-7 * 24 * time.Hour), Until: end, Actions: []string{top}})
			return len(b), err
		}},
		{"actions", func() (int, error) { a, err := store.Actions(ctx); return len(a), err }},
		{"active users, 30 days by day", func() (int, error) {
			b, err := store.ActiveUsers(ctx, eventlog.SeriesQuery{Interval: eventlog.Day, Since: end.Add(-30 * 24 * time.Hour), Until: end})
			return len(b), err
		}},
	}
	for _, c := range others {
		rows := 0
		res, err := timeRuns(c.name, o, func() error {
			var err error
			rows, err = c.fn()
			return err
		})
		if err != nil {
			return nil, err
		}
		res.Rows = rows
		out = append(out, res)
	}
	return out, nil
}

// timeRuns runs fn o.runs times, or fewer (at least o.minRuns) when that
// would take longer than o.queryTime, after one warm-up run.
func timeRuns(name string, o benchOptions, fn func() error) (benchQuery, error) {
	if err := fn(); err != nil {
		return benchQuery{}, fmt.Errorf("%s: %w", name, err)
	}
	var took []time.Duration
	start := time.Now()
	for len(took) < o.runs && (len(took) < o.minRuns || time.Since(start) < o.queryTime) {
		t := time.Now()
		if err := fn(); err != nil {
			return benchQuery{}, fmt.Errorf("%s: %w", name, err)
		}
		took = append(took, time.Since(t))
	}
	slices.Sort(took)
	ms := func(p float64) float64 {
		i := int(p*float64(len(took))+0.999999) - 1 // nearest rank
		return float64(took[max(0, min(i, len(took)-1))].Microseconds()) / 1000
	}
	return benchQuery{Name: name, Runs: len(took), P50: ms(0.50), P95: ms(0.95), P99: ms(0.99)}, nil
}

// diskUse measures the bytes the store's tables take.
func diskUse(ctx context.Context, store eventlog.Store, url string) (benchDisk, error) {
	var d benchDisk
	sq, ok := store.(eventlog.SQLStore)
	if !ok {
		return d, fmt.Errorf("store %T does not expose its database", store)
	}
	db := sq.SQLDB()
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM eventlog_events").Scan(&d.Events); err != nil {
		return d, err
	}
	switch sq.Dialect() {
	case "sqlite":
		var file string
		if err := db.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
			return d, err
		}
		if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return d, err
		}
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(file + suffix); err == nil {
				d.Bytes += fi.Size()
			}
		}
		d.What = "size of the SQLite file after a WAL checkpoint (events, indexes, rollups)"
	case "postgres":
		if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE 'eventlog\_%'`).Scan(&d.Bytes); err != nil {
			return d, err
		}
		d.What = "pg_total_relation_size of every eventlog_ table in the schema (heap, TOAST, indexes, rollups)"
	case "mysql":
		if _, err := db.ExecContext(ctx, "ANALYZE TABLE eventlog_events"); err != nil {
			return d, err
		}
		if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables
			WHERE table_schema = DATABASE() AND table_name LIKE 'eventlog\_%'`).Scan(&d.Bytes); err != nil {
			return d, err
		}
		d.What = "InnoDB data_length + index_length of every eventlog_ table (estimates, after ANALYZE)"
	}
	if d.Events > 0 {
		d.BytesPerEvent = float64(d.Bytes) / float64(d.Events)
	}
	return d, nil
}

func machine() benchMachine {
	m := benchMachine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var kb int64
			if _, err := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); err == nil {
				m.MemoryBytes = kb << 10
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAverage = strings.Join(f[:3], " ")
		}
	}
	return m
}

func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10 // kilobytes on Linux
}

func (r benchReport) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "eventlog bench\n")
	fmt.Fprintf(tw, "database\t%s\n", r.Database)
	fmt.Fprintf(tw, "machine\t%s, %d cores, %.1f GiB memory, %s, %s, load average at the end %s\n",
		r.Machine.CPU, r.Machine.Cores, float64(r.Machine.MemoryBytes)/(1<<30), r.Machine.OS, r.Machine.GoVersion, r.Machine.LoadAverage)
	fmt.Fprintf(tw, "method\t%s\n", r.Method)
	fmt.Fprintf(tw, "took\t%s, bench process peak RSS %.0f MB\n\n", r.Took, float64(r.PeakRSSBytes)/1e6)
	if len(r.Ingest) > 0 {
		fmt.Fprintf(tw, "ingest\tevents\tseconds\tevents/s\tnote\n")
		for _, i := range r.Ingest {
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.0f\t%s\n", i.Name, i.Events, i.Seconds, i.EventsPerSec, i.Note)
		}
	}
	if len(r.Queries) > 0 {
		fmt.Fprintf(tw, "\nquery at %d events\truns\trows\tp50 ms\tp95 ms\tp99 ms\n", r.Disk.Events)
		for _, q := range r.Queries {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.2f\t%.2f\n", q.Name, q.Runs, q.Rows, q.P50, q.P95, q.P99)
		}
	}
	fmt.Fprintf(tw, "\ndisk\t%d bytes for %d events = %.0f bytes/event (%s)\n\n", r.Disk.Bytes, r.Disk.Events, r.Disk.BytesPerEvent, r.Disk.What)
	return tw.Flush()
}
