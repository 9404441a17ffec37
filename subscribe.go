package eventlog

import (
	"fmt"
	"runtime/debug"
	"sync"
)

// Subscribers are the analog of pinax's event_logged signal. The exact
// semantics:
//
//   - A subscriber receives each event after it was committed to the
//     store, once, in commit order, and only events this Logger stored
//     (an event whose id was already stored is not delivered again; an
//     event logged in an outbox transaction is delivered after Commit).
//   - Delivery never blocks Log: each subscriber has its own buffer
//     (Config.SubscriberBuffer, 1024 by default) and its own goroutine.
//     When a subscriber's buffer is full, further events are dropped for
//     that subscriber only and counted in LoggerMetrics.SubscriberDrops;
//     the events stay stored and other subscribers are unaffected.
//   - A callback that panics is recovered and logged to Config.ErrorLog;
//     the subscriber keeps receiving later events.
//   - Cancel stops delivery; events already buffered are still delivered
//     to a callback, and a channel is closed after them.
type subscriber struct {
	ch     chan Event
	fn     func(Event)
	l      *Logger
	once   sync.Once
	mu     sync.Mutex // guards closed against sends after close
	closed bool
	wg     sync.WaitGroup
}

// Subscribe calls fn, on a goroutine of its own, with each event stored
// from now on. It returns a function that cancels the subscription.
func (l *Logger) Subscribe(fn func(Event)) (cancel func()) {
	s := &subscriber{ch: make(chan Event, l.subBuf), fn: fn, l: l}
	s.wg.Add(1)
	go s.run()
	return l.add(s)
}

// SubscribeChan returns a channel that receives each event stored from now
// on, with room for buf events (Config.SubscriberBuffer when buf <= 0);
// events that find it full are dropped for this channel. cancel closes it.
func (l *Logger) SubscribeChan(buf int) (events <-chan Event, cancel func()) {
	if buf <= 0 {
		buf = l.subBuf
	}
	s := &subscriber{ch: make(chan Event, buf), l: l}
	return s.ch, l.add(s)
}

func (l *Logger) add(s *subscriber) func() {
	l.subsMu.Lock()
	if l.closed {
		l.subsMu.Unlock()
		s.close()
		return func() {}
	}
	l.subs[s] = struct{}{}
	l.subsMu.Unlock()
	return func() {
		l.subsMu.Lock()
		delete(l.subs, s)
		l.subsMu.Unlock()
		s.close()
	}
}

func (l *Logger) notify(e Event) {
	l.subsMu.RLock()
	defer l.subsMu.RUnlock()
	for s := range l.subs {
		s.send(e)
	}
}

func (s *subscriber) send(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.ch <- e:
	default:
		s.l.metrics.subDrops.Add(1)
	}
}

func (s *subscriber) close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.ch)
		s.mu.Unlock()
	})
	s.wg.Wait()
}

func (s *subscriber) run() {
	defer s.wg.Done()
	for e := range s.ch {
		s.call(e)
	}
}

func (s *subscriber) call(e Event) {
	defer func() {
		if r := recover(); r != nil {
			s.l.errLog.Error("eventlog: subscriber panicked", "event_id", e.ID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	s.fn(e)
}
