package eventlog

import (
	"sync"
	"sync/atomic"
	"time"
)

// LoggerMetrics is a snapshot of a Logger's counters, plain values so that
// the API can export them to Prometheus without this package importing it.
type LoggerMetrics struct {
	// Mode is the Logger's write mode.
	Mode Mode
	// Written counts events newly stored.
	Written int64
	// Batches counts store transactions written.
	Batches int64
	// Failed counts events whose write failed: in Sync mode the caller got
	// the error; in Async and Spooled mode an event the store rejected as
	// invalid, or one still unwritten when CloseContext gave up.
	Failed int64
	// SubscriberDrops counts events not delivered to a full subscriber.
	SubscriberDrops int64
	// Queued is the number of events accepted but not yet stored (Async and
	// Spooled modes).
	Queued int64
	// Dropped counts events discarded by the DropWhenFull policy.
	Dropped int64
	// Retries counts failed store writes that were retried.
	Retries int64
	// SpoolBytes is the size of the spool's files and SpoolMaxBytes its
	// cap (Spooled mode; zero otherwise).
	SpoolBytes, SpoolMaxBytes int64
	// BatchSize is the distribution of events per store write.
	BatchSize Histogram
	// WriteLatency is the distribution of store write durations in
	// seconds, retries excluded.
	WriteLatency Histogram
}

// Histogram is a cumulative histogram in Prometheus's shape: Counts[i] is
// the number of observations <= UpperBounds[i]; Count includes those
// above the last bound.
type Histogram struct {
	UpperBounds []float64
	Counts      []uint64
	Count       uint64
	Sum         float64
}

var (
	batchSizeBounds = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}
	latencyBounds   = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
)

// histogram is observed once per store write, so a mutex is cheap enough.
type histogram struct {
	mu     sync.Mutex
	bounds []float64
	counts []uint64 // per bucket, not cumulative; one extra for +Inf
	sum    float64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.mu.Lock()
	h.counts[i]++
	h.sum += v
	h.mu.Unlock()
}

func (h *histogram) snapshot() Histogram {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := Histogram{UpperBounds: h.bounds, Counts: make([]uint64, len(h.bounds)), Sum: h.sum}
	var c uint64
	for i, n := range h.counts {
		c += n
		if i < len(h.bounds) {
			s.Counts[i] = c
		}
	}
	s.Count = c
	return s
}

type loggerMetrics struct {
	written, batches, failed, subDrops atomic.Int64
	queued, dropped, retries           atomic.Int64
	batchSize, latency                 *histogram
}

func newLoggerMetrics() loggerMetrics {
	return loggerMetrics{batchSize: newHistogram(batchSizeBounds), latency: newHistogram(latencyBounds)}
}

// observeWrite records one successful store write.
func (m *loggerMetrics) observeWrite(events int, took time.Duration) {
	m.batches.Add(1)
	m.batchSize.observe(float64(events))
	m.latency.observe(took.Seconds())
}

// Metrics returns a snapshot of the Logger's counters.
func (l *Logger) Metrics() LoggerMetrics {
	m := LoggerMetrics{
		Mode:            l.mode,
		Written:         l.metrics.written.Load(),
		Batches:         l.metrics.batches.Load(),
		Failed:          l.metrics.failed.Load(),
		SubscriberDrops: l.metrics.subDrops.Load(),
		Queued:          l.metrics.queued.Load(),
		Dropped:         l.metrics.dropped.Load(),
		Retries:         l.metrics.retries.Load(),
		BatchSize:       l.metrics.batchSize.snapshot(),
		WriteLatency:    l.metrics.latency.snapshot(),
	}
	if l.spool != nil {
		m.SpoolBytes = l.spool.Bytes()
		m.SpoolMaxBytes = l.spool.MaxBytes()
	}
	return m
}
