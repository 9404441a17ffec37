package natsqueue

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// The metrics are created once per Registerer use: a second publisher or
// worker in the same process shares the collectors already registered.

type publishMetrics struct {
	latency    prometheus.Histogram
	published  prometheus.Counter
	duplicates prometheus.Counter
	failed     prometheus.Counter
}

func newPublishMetrics(reg prometheus.Registerer) *publishMetrics {
	return &publishMetrics{
		latency: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventlog_queue_publish_seconds",
			Help:    "Time from the start of a Publish call until JetStream acknowledged all its events.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		})),
		published: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlog_queue_published_total",
			Help: "Events acknowledged by JetStream.",
		})),
		duplicates: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlog_queue_publish_duplicates_total",
			Help: "Publishes JetStream dropped because the event id was already in its duplicate window.",
		})),
		failed: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlog_queue_publish_failures_total",
			Help: "Events whose publish was not acknowledged.",
		})),
	}
}

type workerMetrics struct {
	batchSize    prometheus.Histogram
	storeSeconds prometheus.Histogram
	stored       prometheus.Counter
	duplicates   prometheus.Counter
	redelivered  prometheus.Counter
	poison       prometheus.Counter
	storeErrors  prometheus.Counter
	pending      prometheus.Gauge
}

func newWorkerMetrics(reg prometheus.Registerer) *workerMetrics {
	return &workerMetrics{
		batchSize: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventlog_queue_batch_size",
			Help:    "Events per batch a worker stored in one transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		})),
		storeSeconds: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventlog_queue_store_seconds",
			Help:    "Time a worker spent writing one batch to the store.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		})),
		stored: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlog_queue_stored_total",
			Help: "Events newly written to the store by workers.",
		})),
		duplicates: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlog_queue_store_duplicates_total",
			Help: "Delivered events the store already held (redeliveries and repeated publishes).",
		})),
		redelivered: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlog_queue_redeliveries_total",
			Help: "Messages delivered to a worker more than once.",
		})),
		poison: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlog_queue_poison_total",
			Help: "Messages that are not a valid event, terminated without storing.",
		})),
		storeErrors: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlog_queue_store_errors_total",
			Help: "Batches the store refused; their messages were negatively acknowledged for redelivery.",
		})),
		pending: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "eventlog_queue_consumer_pending",
			Help: "Messages in the stream not yet delivered to the workers' consumer (consumer lag), as of the last batch.",
		})),
	}
}

type tailMetrics struct {
	dropped prometheus.Counter
}

func newTailMetrics(reg prometheus.Registerer) *tailMetrics {
	return &tailMetrics{
		dropped: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlog_queue_tail_dropped_total",
			Help: "Events not delivered to a live-tail subscriber whose buffer was full.",
		})),
	}
}

// register registers c on reg, or returns the collector already
// registered under the same name. With a nil reg, c is returned
// unregistered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a conflicting metric of another type: a programming error
	}
	return c
}
