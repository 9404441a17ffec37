package api

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/eventlog/eventlog"
)

// metrics are the API's Prometheus collectors.
type metrics struct {
	accepted    prometheus.Counter
	rejected    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	batchSize   prometheus.Histogram
	storeErrors prometheus.Counter
	streams     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, logger *eventlog.Logger) (*metrics, error) {
	m := &metrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlog_api_events_accepted_total",
			Help: "Events received by POST /api/v1/events and committed (including idempotent repeats).",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventlog_api_events_rejected_total",
			Help: "Ingest requests refused, by reason (the error code).",
		}, []string{"reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eventlog_api_request_duration_seconds",
			Help:    "Time to answer an API request, by route and status code (streams excluded).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "code"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventlog_api_ingest_batch_size",
			Help:    "Events per accepted POST /api/v1/events request.",
			Buckets: []float64{1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000},
		}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlog_api_store_errors_total",
			Help: "Requests that failed with an internal (store) error.",
		}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "eventlog_api_open_streams",
			Help: "Server-Sent Events streams currently open.",
		}),
	}
	cs := []prometheus.Collector{m.accepted, m.rejected, m.latency, m.batchSize, m.storeErrors, m.streams,
		newLoggerCollector(logger),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// newDefaultRegistry returns a registry with the Go runtime and process
// collectors, used when Config.Registry is nil.
func newDefaultRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// loggerCollector exports the Logger's own counters and histograms,
// read from one snapshot per scrape.
type loggerCollector struct {
	l                                                 *eventlog.Logger
	written, batches, failed, drops, dropped, retries *prometheus.Desc
	queued, spoolBytes                                *prometheus.Desc
	batchSize, writeLatency                           *prometheus.Desc
}

func newLoggerCollector(l *eventlog.Logger) *loggerCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &loggerCollector{
		l:            l,
		written:      d("eventlog_logger_events_written_total", "Events newly stored by the Logger."),
		batches:      d("eventlog_logger_batches_total", "Store transactions written by the Logger (group commits)."),
		failed:       d("eventlog_logger_events_failed_total", "Events whose write failed in the Logger."),
		drops:        d("eventlog_logger_subscriber_drops_total", "Events not delivered to a full subscriber (streams catch up from the store)."),
		dropped:      d("eventlog_logger_events_dropped_total", "Events discarded by a full Async buffer."),
		retries:      d("eventlog_logger_retries_total", "Failed store writes that were retried."),
		queued:       d("eventlog_logger_events_queued", "Events accepted but not yet stored."),
		spoolBytes:   d("eventlog_logger_spool_bytes", "Size of the spool files (Spooled mode)."),
		batchSize:    d("eventlog_logger_batch_size", "Events per store write."),
		writeLatency: d("eventlog_logger_write_duration_seconds", "Duration of store writes."),
	}
}

// Describe implements prometheus.Collector.
func (c *loggerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.written, c.batches, c.failed, c.drops, c.dropped, c.retries, c.queued, c.spoolBytes, c.batchSize, c.writeLatency} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *loggerCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.l.Metrics()
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(c.written, m.Written)
	counter(c.batches, m.Batches)
	counter(c.failed, m.Failed)
	counter(c.drops, m.SubscriberDrops)
	counter(c.dropped, m.Dropped)
	counter(c.retries, m.Retries)
	ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(m.Queued))
	ch <- prometheus.MustNewConstMetric(c.spoolBytes, prometheus.GaugeValue, float64(m.SpoolBytes))
	for _, h := range []struct {
		d *prometheus.Desc
		h eventlog.Histogram
	}{{c.batchSize, m.BatchSize}, {c.writeLatency, m.WriteLatency}} {
		buckets := make(map[float64]uint64, len(h.h.UpperBounds))
		for i, ub := range h.h.UpperBounds {
			if i < len(h.h.Counts) {
				buckets[ub] = h.h.Counts[i]
			}
		}
		ch <- prometheus.MustNewConstHistogram(h.d, h.h.Count, h.h.Sum, buckets)
	}
}
