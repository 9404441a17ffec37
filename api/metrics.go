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
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "eventlog_logger_events_written_total",
			Help: "Events newly stored by the Logger.",
		}, func() float64 { return float64(logger.Metrics().Written) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "eventlog_logger_batches_total",
			Help: "Transactions written by the Logger's group commit.",
		}, func() float64 { return float64(logger.Metrics().Batches) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "eventlog_logger_events_failed_total",
			Help: "Events whose write failed in the Logger.",
		}, func() float64 { return float64(logger.Metrics().Failed) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "eventlog_logger_subscriber_drops_total",
			Help: "Events not delivered to a full subscriber (streams resynchronize from the store).",
		}, func() float64 { return float64(logger.Metrics().SubscriberDrops) }),
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
