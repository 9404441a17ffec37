package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/eventlog/eventlog/spool"
)

// Mode is how a Logger writes events, and so what a call to Log that
// returned without error guarantees.
type Mode int

const (
	// Sync, the default, returns from Log only after the event is
	// committed to the store. Concurrent calls share transactions (group
	// commit). A returned nil error means the event is stored.
	Sync Mode = iota
	// Async returns from Log as soon as the event is valid and queued in
	// memory; a background writer stores queued events in batches of up to
	// MaxBatch, or every FlushInterval, retrying a failing store with
	// capped exponential backoff. A returned nil error means the event will
	// be stored unless the process dies first (or CloseContext gives up).
	// Flush waits until everything logged so far is stored.
	Async
	// Spooled is Async plus a local write-ahead file (package spool): Log
	// appends the event to the spool before returning, so an accepted
	// event survives a crash of the process and is stored when the Logger
	// is next created on the same SpoolDir. Under spool.SyncAlways it also
	// survives a crash of the machine. Spool segments are deleted once
	// their events are committed.
	Spooled
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case Sync:
		return "sync"
	case Async:
		return "async"
	case Spooled:
		return "spooled"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// FullPolicy is what Log does in Async or Spooled mode when the buffer
// (BufferSize events) or the spool (SpoolMaxBytes) is full.
type FullPolicy int

const (
	// BlockWhenFull, the default, makes Log wait for room, or until its
	// context is done.
	BlockWhenFull FullPolicy = iota
	// DropWhenFull discards the event, counts it in LoggerMetrics.Dropped
	// and returns it with a nil error: logging never slows the caller.
	DropWhenFull
	// ErrorWhenFull returns an error wrapping ErrBufferFull at once.
	ErrorWhenFull
)

// String returns the policy's name.
func (p FullPolicy) String() string {
	switch p {
	case BlockWhenFull:
		return "block"
	case DropWhenFull:
		return "drop"
	case ErrorWhenFull:
		return "error"
	}
	return "FullPolicy(" + strconv.Itoa(int(p)) + ")"
}

// queued is one unit of work for the background writer: an event, or a
// batch that must be stored atomically, or a Flush marker.
type queued struct {
	event Event
	batch []Event // non-nil for LogBatch
	pos   spool.Pos
	flush chan struct{}
}

func (q *queued) len() int {
	if q.batch != nil {
		return len(q.batch)
	}
	return 1
}

// encodePool holds spool record buffers; oversized ones are not kept.
var encodePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// enqueue hands prepared events to the background writer, appending them
// to the spool first in Spooled mode.
func (l *Logger) enqueue(ctx context.Context, q queued) error {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	// A slot is taken before the event is spooled, so the send to the
	// queue below never blocks and a spooled event is never refused.
	switch l.whenFull {
	case BlockWhenFull:
		select {
		case l.slots <- struct{}{}:
		default:
			select {
			case l.slots <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			case <-l.closing:
				return ErrClosed
			}
		}
	default:
		select {
		case l.slots <- struct{}{}:
		default:
			return l.full(q.len(), "buffer of %d events", cap(l.slots))
		}
	}
	if l.spool != nil {
		pos, err := l.appendSpool(ctx, &q)
		if err != nil {
			<-l.slots
			if err == errDropped {
				return nil
			}
			return err
		}
		q.pos = pos
	}
	l.metrics.queued.Add(int64(q.len()))
	l.queue <- q
	return nil
}

// full applies the Drop or Error policy.
func (l *Logger) full(n int, what string, arg any) error {
	if l.whenFull == DropWhenFull {
		l.metrics.dropped.Add(int64(n))
		return nil
	}
	return fmt.Errorf("%w: "+what, ErrBufferFull, arg)
}

// errDropped tells enqueue that DropWhenFull discarded the event.
var errDropped = errors.New("eventlog: dropped")

func (l *Logger) appendSpool(ctx context.Context, q *queued) (spool.Pos, error) {
	bp := encodePool.Get().(*[]byte)
	b := append((*bp)[:0], '[')
	if q.batch == nil {
		b = q.event.AppendJSON(b)
	} else {
		for i, e := range q.batch {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.AppendJSON(b)
		}
	}
	b = append(b, ']')
	defer func() {
		if cap(b) <= 64<<10 {
			*bp = b
			encodePool.Put(bp)
		}
	}()
	for {
		pos, err := l.spool.Append(b)
		if !errors.Is(err, spool.ErrFull) {
			return pos, err
		}
		if l.onSpoolFull != nil {
			l.onSpoolFull(l.spool.Bytes(), l.spool.MaxBytes())
		}
		if l.whenFull != BlockWhenFull {
			if err := l.full(q.len(), "spool holds %d bytes", l.spool.Bytes()); err != nil {
				return spool.Pos{}, err
			}
			return spool.Pos{}, errDropped
		}
		if err := l.waitSpoolRoom(ctx, len(b)); err != nil {
			return spool.Pos{}, err
		}
	}
}

// waitSpoolRoom waits for the spool to shrink, ending early with
// ErrClosed when Close begins.
func (l *Logger) waitSpoolRoom(ctx context.Context, n int) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-l.closing:
			cancel()
		case <-wctx.Done():
		}
	}()
	err := l.spool.WaitRoom(wctx, n)
	select {
	case <-l.closing:
		if err != nil {
			return ErrClosed
		}
	default:
	}
	return err
}

// Flush waits until every event logged before the call is stored, or ctx
// is done. In Sync mode there is nothing to wait for.
func (l *Logger) Flush(ctx context.Context) error {
	if l.mode == Sync {
		return nil
	}
	select {
	case <-l.replayed:
	case <-ctx.Done():
		return ctx.Err()
	}
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return ErrClosed
	}
	done := make(chan struct{})
	select {
	case l.slots <- struct{}{}:
		l.queue <- queued{flush: done}
		l.closeMu.RUnlock()
	case <-ctx.Done():
		l.closeMu.RUnlock()
		return ctx.Err()
	case <-l.closing:
		l.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// replay queues the events left in the spool by an earlier process.
func (l *Logger) replay() {
	defer close(l.replayed)
	err := l.spool.Replay(func(pos spool.Pos, rec []byte) error {
		var events []Event
		if err := json.Unmarshal(rec, &events); err != nil || len(events) == 0 {
			// A record that passed its checksum but does not decode was
			// written by an incompatible build; keeping it would block the
			// spool forever.
			l.errLog.Error("eventlog: skipping undecodable spool record", "segment", pos.Segment, "offset", pos.Offset, "err", err)
			l.spool.Ack(pos)
			return nil
		}
		q := queued{pos: pos, event: events[0]}
		if len(events) > 1 {
			q.batch = events
		}
		select {
		case l.slots <- struct{}{}:
		case <-l.abandon:
			return ErrClosed
		}
		l.metrics.queued.Add(int64(q.len()))
		l.queue <- q
		return nil
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		l.errLog.Error("eventlog: spool replay stopped", "err", err)
	}
}

// asyncLoop is the background writer of Async and Spooled modes.
func (l *Logger) asyncLoop() {
	defer close(l.done)
	var (
		items   []queued
		flushes []chan struct{}
		n       int
	)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	take := func(q queued) {
		<-l.slots
		if q.flush != nil {
			flushes = append(flushes, q.flush)
			return
		}
		items = append(items, q)
		n += q.len()
	}
	for {
		stopping := false
		select {
		case q := <-l.queue:
			take(q)
		case <-l.stop:
			stopping = true
		}
		if !stopping && len(flushes) == 0 {
			timer.Reset(l.flushInterval)
		collect:
			for n < l.maxBatch && len(flushes) == 0 {
				select {
				case q := <-l.queue:
					take(q)
				case <-timer.C:
					break collect
				case <-l.stop:
					stopping = true
					break collect
				}
			}
			timer.Stop()
		}
		if stopping {
			// Close holds the lock, so nothing more arrives: drain it all.
			for {
				select {
				case q := <-l.queue:
					take(q)
					continue
				default:
				}
				break
			}
		}
		for len(items) > 0 {
			k, m := 0, 0
			for k < len(items) && (k == 0 || m+items[k].len() <= l.maxBatch) {
				m += items[k].len()
				k++
			}
			if !l.storeQueued(items[:k]) {
				// Abandoned by CloseContext: the rest is lost in Async
				// mode and stays in the spool in Spooled mode.
				rest := 0
				for _, q := range items[k:] {
					rest += q.len()
				}
				l.metrics.failed.Add(int64(rest))
				l.metrics.queued.Add(-int64(rest))
				break
			}
			items = items[k:]
		}
		items, n = items[:0], 0
		for _, f := range flushes {
			close(f)
		}
		flushes = flushes[:0]
		if stopping {
			return
		}
	}
}

// storeQueued writes items in one transaction, retrying a failing store
// with exponential backoff until it succeeds or the Logger is abandoned.
// It reports false when abandoned.
func (l *Logger) storeQueued(items []queued) bool {
	events := make([]Event, 0, len(items))
	for i := range items {
		if items[i].batch != nil {
			events = append(events, items[i].batch...)
		} else {
			events = append(events, items[i].event)
		}
	}
	delay := 10 * time.Millisecond
	for {
		start := time.Now()
		stored, inserted, err := l.store.Insert(l.writeCtx, events)
		if err == nil {
			l.metrics.observeWrite(len(events), time.Since(start))
			l.committed(items, stored, inserted)
			return true
		}
		if errors.Is(err, ErrInvalid) && len(items) > 1 {
			// Find the event the store refuses; store the others.
			for i := range items {
				if !l.storeQueued(items[i : i+1]) {
					return false
				}
			}
			return true
		}
		if errors.Is(err, ErrInvalid) {
			l.errLog.Error("eventlog: store refused an event; it is not stored", "event_id", events[0].ID, "err", err)
			l.metrics.failed.Add(int64(len(events)))
			l.metrics.queued.Add(-int64(len(events)))
			l.ackSpool(items)
			return true
		}
		l.metrics.retries.Add(1)
		l.errLog.Warn("eventlog: store write failed; retrying", "events", len(events), "retry_in", delay, "err", err)
		select {
		case <-time.After(delay):
		case <-l.abandon:
			l.metrics.failed.Add(int64(len(events)))
			l.metrics.queued.Add(-int64(len(events)))
			return false
		}
		delay = min(delay*2, l.maxRetryDelay)
	}
}

func (l *Logger) committed(items []queued, stored []Event, inserted []bool) {
	l.metrics.queued.Add(-int64(len(stored)))
	l.published(stored, inserted)
	l.ackSpool(items)
}

func (l *Logger) ackSpool(items []queued) {
	if l.spool == nil {
		return
	}
	for i := range items {
		l.spool.Ack(items[i].pos)
	}
}
