package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventlog/eventlog/spool"
)

// Config configures a Logger. A nil *Config means all defaults.
type Config struct {
	// Mode is how events are written and what a returned Log guarantees:
	// Sync, Async or Spooled (see Mode). Defaults to Sync.
	Mode Mode
	// Now returns the current time for default timestamps.
	// Defaults to time.Now.
	Now func() time.Time
	// MaxBatch is the most events one store transaction writes (group
	// commit in Sync mode, the background writer otherwise); a LogBatch
	// larger than this is still written in one transaction.
	// Defaults to 1000.
	MaxBatch int
	// BufferSize is how many Log calls (Async and Spooled modes) may wait
	// for the background writer before WhenFull applies.
	// Defaults to 10000.
	BufferSize int
	// WhenFull is what Log does when the buffer or the spool is full.
	// Defaults to BlockWhenFull.
	WhenFull FullPolicy
	// FlushInterval is how long the background writer waits for a batch
	// to fill before writing what it has. Defaults to 100ms.
	FlushInterval time.Duration
	// MaxRetryDelay caps the exponential backoff between retries of a
	// failing store (Async and Spooled modes); the first retry waits
	// 10ms. Defaults to 5s.
	MaxRetryDelay time.Duration
	// SpoolDir is the directory of the write-ahead spool. Required in
	// Spooled mode; one Logger per directory at a time.
	SpoolDir string
	// SpoolSync is the spool's fsync policy. Defaults to spool.SyncAlways.
	SpoolSync spool.SyncPolicy
	// SpoolMaxBytes caps the spool's size on disk; beyond it WhenFull
	// applies. Defaults to 1 GiB.
	SpoolMaxBytes int64
	// OnSpoolFull, when set, is called with the spool's size and cap each
	// time a Log call finds the spool full, so an application can alert
	// before its callers feel it (LoggerMetrics.SpoolBytes tells the same
	// continuously).
	OnSpoolFull func(bytes, maxBytes int64)
	// SubscriberBuffer is the number of events buffered per subscriber
	// before further events are dropped for that subscriber.
	// Defaults to 1024.
	SubscriberBuffer int
	// ErrorLog receives subscriber panics and background errors.
	// Defaults to slog.Default().
	ErrorLog *slog.Logger
	// RedactKeys names the keys of extra and context whose values are
	// replaced by "[redacted]" before an event is stored, queued, spooled
	// or published (see Redactor): whole key names, case-insensitive, at
	// any depth. Defaults to DefaultRedactKeys() when nil; an empty
	// non-nil slice turns redaction off.
	RedactKeys []string
}

// Logger validates events, stores them and notifies subscribers. It is
// safe for concurrent use.
//
// In the default Sync mode Log returns only after the event is committed
// to the store. Concurrent calls are committed together (group commit):
// while one transaction is being written, the calls that arrive queue up
// and the next transaction writes all of them, so throughput under
// concurrency is many times one commit per call, and no call returns
// before its own event is durable. Async and Spooled modes trade that
// guarantee for speed; see Mode.
type Logger struct {
	store    Store
	mode     Mode
	now      func() time.Time
	maxBatch int
	subBuf   int
	errLog   *slog.Logger
	redactor *Redactor

	// Sync mode.
	reqs chan *writeReq

	// Async and Spooled modes.
	queue         chan queued
	slots         chan struct{}
	whenFull      FullPolicy
	flushInterval time.Duration
	maxRetryDelay time.Duration
	spool         *spool.Spool
	onSpoolFull   func(bytes, maxBytes int64)
	replayed      chan struct{}
	abandon       chan struct{} // closed when CloseContext gives up
	writeCtx      context.Context
	cancelWrites  context.CancelFunc // cancels writeCtx with abandon

	// closing is closed first by Close, to wake calls waiting for room
	// that would otherwise keep Close from taking closeMu.
	closing     chan struct{}
	closingOnce sync.Once
	stop        chan struct{}
	done        chan struct{}
	closeMu     sync.RWMutex
	closed      bool

	subsMu sync.RWMutex
	subs   map[*subscriber]struct{}

	metrics loggerMetrics
}

type writeReq struct {
	ctx    context.Context
	events []Event
	done   chan writeRes
}

type writeRes struct {
	events []Event
	err    error
}

// New returns a Logger that writes to store. The caller keeps ownership
// of store and closes it after closing the Logger. In Spooled mode New
// opens the spool and starts storing the events an earlier process left
// in it.
func New(store Store, cfg *Config) (*Logger, error) {
	if store == nil {
		return nil, errors.New("eventlog.New: store is nil")
	}
	if cfg == nil {
		cfg = &Config{}
	}
	l := &Logger{
		store:         store,
		mode:          cfg.Mode,
		now:           cfg.Now,
		maxBatch:      cfg.MaxBatch,
		subBuf:        cfg.SubscriberBuffer,
		errLog:        cfg.ErrorLog,
		whenFull:      cfg.WhenFull,
		flushInterval: cfg.FlushInterval,
		maxRetryDelay: cfg.MaxRetryDelay,
		onSpoolFull:   cfg.OnSpoolFull,
		closing:       make(chan struct{}),
		stop:          make(chan struct{}),
		done:          make(chan struct{}),
		replayed:      make(chan struct{}),
		abandon:       make(chan struct{}),
		subs:          map[*subscriber]struct{}{},
		metrics:       newLoggerMetrics(),
	}
	l.writeCtx, l.cancelWrites = context.WithCancel(context.Background())
	if cfg.RedactKeys == nil {
		l.redactor = NewRedactor(DefaultRedactKeys())
	} else {
		l.redactor = NewRedactor(cfg.RedactKeys)
	}
	bufferSize := cfg.BufferSize
	if l.now == nil {
		l.now = time.Now
	}
	if l.maxBatch == 0 {
		l.maxBatch = 1000
	}
	if l.subBuf == 0 {
		l.subBuf = 1024
	}
	if bufferSize == 0 {
		bufferSize = 10000
	}
	if l.flushInterval == 0 {
		l.flushInterval = 100 * time.Millisecond
	}
	if l.maxRetryDelay == 0 {
		l.maxRetryDelay = 5 * time.Second
	}
	if l.errLog == nil {
		l.errLog = slog.Default()
	}
	switch {
	case l.mode < Sync || l.mode > Spooled:
		return nil, fmt.Errorf("eventlog.New: Mode %d is not Sync, Async or Spooled", cfg.Mode)
	case l.maxBatch < 1:
		return nil, fmt.Errorf("eventlog.New: MaxBatch %d must be positive", cfg.MaxBatch)
	case l.subBuf < 1:
		return nil, fmt.Errorf("eventlog.New: SubscriberBuffer %d must be positive", cfg.SubscriberBuffer)
	case bufferSize < 1:
		return nil, fmt.Errorf("eventlog.New: BufferSize %d must be positive", cfg.BufferSize)
	case l.whenFull < BlockWhenFull || l.whenFull > ErrorWhenFull:
		return nil, fmt.Errorf("eventlog.New: WhenFull %d is not BlockWhenFull, DropWhenFull or ErrorWhenFull", cfg.WhenFull)
	case l.flushInterval < 0:
		return nil, fmt.Errorf("eventlog.New: FlushInterval %v must be positive", cfg.FlushInterval)
	case l.maxRetryDelay < 0:
		return nil, fmt.Errorf("eventlog.New: MaxRetryDelay %v must be positive", cfg.MaxRetryDelay)
	case l.mode == Spooled && cfg.SpoolDir == "":
		return nil, errors.New("eventlog.New: SpoolDir is required in Spooled mode")
	case cfg.SpoolMaxBytes < 0:
		return nil, fmt.Errorf("eventlog.New: SpoolMaxBytes %d must be positive", cfg.SpoolMaxBytes)
	}
	switch l.mode {
	case Sync:
		close(l.replayed)
		l.reqs = make(chan *writeReq, 4096)
		go l.writeLoop()
	case Async:
		close(l.replayed)
		l.queue = make(chan queued, bufferSize)
		l.slots = make(chan struct{}, bufferSize)
		go l.asyncLoop()
	case Spooled:
		sp, err := spool.Open(cfg.SpoolDir, spool.Options{Sync: cfg.SpoolSync, SyncInterval: l.flushInterval, MaxBytes: cfg.SpoolMaxBytes})
		if err != nil {
			return nil, fmt.Errorf("eventlog.New: SpoolDir: %w", err)
		}
		l.spool = sp
		l.queue = make(chan queued, bufferSize)
		l.slots = make(chan struct{}, bufferSize)
		go l.asyncLoop()
		go l.replay()
	}
	return l, nil
}

// Mode returns the Logger's write mode.
func (l *Logger) Mode() Mode { return l.mode }

// Store returns the store the Logger writes to.
func (l *Logger) Store() Store { return l.store }

// Extra is a convenient way to pass extra data to Log.
type Extra map[string]any

// ID, passed to Log, sets the event id (for idempotent retries).
type ID string

// Log records one event and returns it as stored. args may be, in any
// order: a User or *User (the actor; defaults to the user in ctx), an
// Object, *Object or Objecter (the linked object), Extra, json.RawMessage
// or any other map[string]any (extra data), a time.Time (the timestamp),
// a RequestContext or *RequestContext (defaults to the one in ctx), and an
// ID. Like pinax's log(user=..., action=..., obj=..., extra=...).
func (l *Logger) Log(ctx context.Context, action string, args ...any) (Event, error) {
	e, err := l.buildEvent(action, args)
	if err != nil {
		return Event{}, err
	}
	return l.LogEvent(ctx, e)
}

func (l *Logger) buildEvent(action string, args []any) (Event, error) {
	e := Event{Action: action}
	for i, a := range args {
		switch v := a.(type) {
		case nil:
		case User:
			e.User = &v
		case *User:
			e.User = v
		case Object:
			e.Object = &v
		case *Object:
			e.Object = v
		case Objecter:
			e.Object = ObjectOf(v)
		case json.RawMessage:
			e.Extra = v
		case Extra:
			b, err := json.Marshal(map[string]any(v))
			if err != nil {
				return Event{}, invalid("extra", "cannot be encoded as JSON: %v", err)
			}
			e.Extra = b
		case map[string]any:
			b, err := json.Marshal(v)
			if err != nil {
				return Event{}, invalid("extra", "cannot be encoded as JSON: %v", err)
			}
			e.Extra = b
		case time.Time:
			e.Timestamp = v
		case RequestContext:
			e.Context = &v
		case *RequestContext:
			e.Context = v
		case ID:
			e.ID = string(v)
		default:
			return Event{}, invalid("args", "argument %d has unsupported type %T", i, a)
		}
	}
	return e, nil
}

// LogEvent records e and returns it as stored (see Log). If e.ID is
// already stored, nothing is written and the stored event is returned.
//
// In Async and Spooled modes it returns once e is validated and queued
// (spooled), with e as it will be stored: an id already stored is then
// skipped by the writer without the caller learning of it.
func (l *Logger) LogEvent(ctx context.Context, e Event) (Event, error) {
	if err := l.prepare(ctx, &e); err != nil {
		return Event{}, err
	}
	if l.mode != Sync {
		if err := l.enqueue(ctx, queued{event: e}); err != nil {
			return Event{}, err
		}
		return e, nil
	}
	out, err := l.write(ctx, []Event{e})
	if err != nil {
		return Event{}, err
	}
	return out[0], nil
}

// LogBatch records events atomically: all are stored or none. A bad event
// fails the whole batch with a *ValidationError whose Index names it. In
// Async and Spooled modes the batch is queued as one unit, written in one
// transaction, and the events are returned as they will be stored.
func (l *Logger) LogBatch(ctx context.Context, events []Event) ([]Event, error) {
	if len(events) == 0 {
		return nil, nil
	}
	batch := make([]Event, len(events))
	copy(batch, events)
	for i := range batch {
		if err := l.prepare(ctx, &batch[i]); err != nil {
			return nil, AtIndex(err, i)
		}
	}
	if l.mode != Sync {
		if err := l.enqueue(ctx, queued{batch: batch}); err != nil {
			return nil, err
		}
		return batch, nil
	}
	return l.write(ctx, batch)
}

// Prepare validates e and fills its defaults exactly as Log would,
// including the user and request metadata from ctx, and redacts it (see
// Config.RedactKeys), without storing it.
func (l *Logger) Prepare(ctx context.Context, e *Event) error { return l.prepare(ctx, e) }

func (l *Logger) prepare(ctx context.Context, e *Event) error {
	// The copies are declared inside the branches so that a call whose
	// ctx carries no user or request allocates nothing here.
	if e.User == nil {
		if u, ok := UserFromContext(ctx); ok {
			actor := u
			e.User = &actor
		}
	}
	if e.Context == nil {
		if rc, ok := RequestFromContext(ctx); ok {
			meta := rc
			e.Context = &meta
		}
	}
	if err := e.Normalize(l.now()); err != nil {
		return err
	}
	if l.redactor.RedactEvent(e) && len(e.Extra) > MaxExtraSize {
		return invalid("extra", "is %d bytes once redacted; the limit is %d (64 KiB)", len(e.Extra), MaxExtraSize)
	}
	return nil
}

// Redactor returns the Logger's redactor, or nil when redaction is off.
func (l *Logger) Redactor() *Redactor { return l.redactor }

func (l *Logger) write(ctx context.Context, events []Event) ([]Event, error) {
	req := &writeReq{ctx: ctx, events: events, done: make(chan writeRes, 1)}
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return nil, ErrClosed
	}
	select {
	case l.reqs <- req:
		l.closeMu.RUnlock()
	case <-ctx.Done():
		l.closeMu.RUnlock()
		return nil, ctx.Err()
	}
	select {
	case res := <-req.done:
		return res.events, res.err
	case <-ctx.Done():
		// The event may still be committed; the caller was not told so.
		return nil, ctx.Err()
	}
}

// writeLoop is the group committer: it takes the first waiting request,
// adds every request already queued (up to MaxBatch events) and writes
// them in one transaction.
func (l *Logger) writeLoop() {
	defer close(l.done)
	var group []*writeReq
	for {
		select {
		case r := <-l.reqs:
			group = append(group[:0], r)
		case <-l.stop:
			// Drain what was accepted before Close.
			for {
				select {
				case r := <-l.reqs:
					l.commit([]*writeReq{r})
				default:
					return
				}
			}
		}
		n := len(group[0].events)
	fill:
		for n < l.maxBatch {
			select {
			case r := <-l.reqs:
				group = append(group, r)
				n += len(r.events)
			default:
				break fill
			}
		}
		l.commit(group)
	}
}

func (l *Logger) commit(group []*writeReq) {
	// Skip callers that gave up before their turn.
	live := group[:0]
	for _, r := range group {
		if r.ctx.Err() != nil {
			r.done <- writeRes{err: r.ctx.Err()}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		l.commitOne(live[0])
		return
	}
	var all []Event
	for _, r := range live {
		all = append(all, r.events...)
	}
	start := time.Now()
	stored, inserted, err := l.store.Insert(context.WithoutCancel(live[0].ctx), all)
	if err != nil {
		// One request may carry what the database refuses; retry each on
		// its own so the others still succeed.
		for _, r := range live {
			l.commitOne(r)
		}
		return
	}
	l.metrics.observeWrite(len(all), time.Since(start))
	l.published(stored, inserted)
	i := 0
	for _, r := range live {
		r.done <- writeRes{events: stored[i : i+len(r.events) : i+len(r.events)]}
		i += len(r.events)
	}
}

func (l *Logger) commitOne(r *writeReq) {
	start := time.Now()
	stored, inserted, err := l.store.Insert(context.WithoutCancel(r.ctx), r.events)
	if err != nil {
		l.metrics.failed.Add(int64(len(r.events)))
		r.done <- writeRes{err: err}
		return
	}
	l.metrics.observeWrite(len(r.events), time.Since(start))
	l.published(stored, inserted)
	r.done <- writeRes{events: stored}
}

// published counts and notifies subscribers of newly stored events.
func (l *Logger) published(stored []Event, inserted []bool) {
	n := 0
	for i := range stored {
		if inserted[i] {
			n++
			l.notify(stored[i])
		}
	}
	l.metrics.written.Add(int64(n))
}

// Notify delivers already-stored events to the subscribers. Outbox.Commit
// and the queue worker use it; applications rarely need it.
func (l *Logger) Notify(events ...Event) {
	for _, e := range events {
		l.notify(e)
	}
}

// Close waits for accepted events to be written, stops the subscribers
// (each finishes the events already queued for it) and makes further calls
// fail with ErrClosed. It does not close the store. In Async and Spooled
// modes it keeps retrying a failing store until everything is written;
// CloseContext bounds that wait.
func (l *Logger) Close() error { return l.CloseContext(context.Background()) }

// CloseContext is Close with a bound: when ctx is done before every
// accepted event is written, it stops retrying and returns an error
// wrapping ctx.Err(). The unwritten events are lost in Async mode (and
// counted in LoggerMetrics.Failed) and stay in the spool, to be stored
// by the next Logger, in Spooled mode.
func (l *Logger) CloseContext(ctx context.Context) error {
	l.closingOnce.Do(func() { close(l.closing) })
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return nil
	}
	l.closed = true
	l.closeMu.Unlock()
	failedBefore := l.metrics.failed.Load()
	close(l.stop)
	var err error
	select {
	case <-l.done:
	case <-ctx.Done():
		close(l.abandon)
		l.cancelWrites()
		<-l.done
		err = fmt.Errorf("eventlog: Close gave up with %d events unwritten: %w", l.metrics.failed.Load()-failedBefore, ctx.Err())
	}
	if l.spool != nil {
		select {
		case <-l.abandon:
		default:
			close(l.abandon) // ends a replay still waiting for room
		}
	}
	l.cancelWrites()
	if l.spool != nil {
		<-l.replayed
		if cerr := l.spool.Close(); err == nil {
			err = cerr
		}
	}
	l.subsMu.Lock()
	subs := l.subs
	l.subs = map[*subscriber]struct{}{}
	l.subsMu.Unlock()
	for s := range subs {
		s.close()
	}
	return err
}

var defaultLogger atomic.Pointer[Logger]

// SetDefault makes l the Logger used by the package-level Log functions.
func SetDefault(l *Logger) { defaultLogger.Store(l) }

// Default returns the default Logger, or nil when none was set.
func Default() *Logger { return defaultLogger.Load() }

// ErrNoDefault is returned by the package-level functions before SetDefault.
var ErrNoDefault = errors.New("eventlog: no default Logger: call eventlog.SetDefault")

// Log records an event with the default Logger (see Logger.Log).
func Log(ctx context.Context, action string, args ...any) (Event, error) {
	l := Default()
	if l == nil {
		return Event{}, ErrNoDefault
	}
	return l.Log(ctx, action, args...)
}

// LogEvent records e with the default Logger (see Logger.LogEvent).
func LogEvent(ctx context.Context, e Event) (Event, error) {
	l := Default()
	if l == nil {
		return Event{}, ErrNoDefault
	}
	return l.LogEvent(ctx, e)
}
