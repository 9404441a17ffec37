package natsqueue_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/natsqueue"
)

// BenchmarkPublish measures how fast one ingest node gets events
// acknowledged by JetStream, by batch size, with 8 concurrent callers.
// One op is one event.
func BenchmarkPublish(b *testing.B) {
	for _, size := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			bb := setup(b)
			pub, err := natsqueue.NewPublisher(bb.js, bb.cfg)
			if err != nil {
				b.Fatal(err)
			}
			evs := events(b, b.N, "BENCH_PUBLISH")
			b.ReportAllocs()
			b.ResetTimer()
			publishAll(b, []*natsqueue.Publisher{pub}, evs, size, 8)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkEndToEnd measures events/s from the first publish until the
// last event is committed in the store: two ingest nodes (two
// connections) with 8 concurrent clients each publishing batches of 100,
// and 1 or 2 workers. One op is one event; run it with
// -benchtime=50000x. It reports the publish rate, the end-to-end rate and
// the largest consumer lag sampled every 50ms.
func BenchmarkEndToEnd(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			bb := setup(b)
			ctx := context.Background()
			var pubs []*natsqueue.Publisher
			for range 2 {
				_, js := connect(b, natsURL)
				p, err := natsqueue.NewPublisher(js, bb.cfg)
				if err != nil {
					b.Fatal(err)
				}
				pubs = append(pubs, p)
			}
			evs := events(b, b.N, "BENCH_E2E")
			var ws []*natsqueue.Worker
			var regs []*prometheus.Registry
			for range workers {
				c := *bb.cfg
				reg := prometheus.NewRegistry()
				regs = append(regs, reg)
				c.Registerer = reg
				_, js := connect(b, natsURL)
				w, err := natsqueue.NewWorker(js, bb.store, &c)
				if err != nil {
					b.Fatal(err)
				}
				ws = append(ws, w)
			}
			b.ResetTimer()
			for _, w := range ws {
				runWorker(b, w)
			}
			var maxLag uint64
			var series []string // lag once a second, for -v
			stopSampling := make(chan struct{})
			sampled := make(chan struct{})
			start := time.Now()
			go func() {
				defer close(sampled)
				t := time.NewTicker(50 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-stopSampling:
						return
					case <-t.C:
						undelivered, unacked, err := ws[0].Pending(ctx)
						if err == nil {
							lag := undelivered + uint64(unacked)
							maxLag = max(maxLag, lag)
							if s := time.Since(start).Seconds(); len(series) < int(s)+1 {
								series = append(series, fmt.Sprintf("%.0fs:%d", s, lag))
							}
						}
					}
				}
			}()
			publishAll(b, pubs, evs, 100, 16)
			published := time.Since(start)
			waitStoredCount(b, regs, b.N, 5*time.Minute)
			b.StopTimer()
			close(stopSampling)
			<-sampled
			// Every acknowledged event is stored, once.
			checkExactlyOnce(b, storedIDs(b, bb.store), evs)
			b.ReportMetric(float64(b.N)/published.Seconds(), "published/s")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(maxLag), "max-lag")
			b.Logf("consumer lag (undelivered + unacknowledged) over time: %v", series)
			var batches, storeSecs float64
			for _, reg := range regs {
				batches += metric(b, reg, "eventlog_queue_batch_size")
				storeSecs += histogramSum(b, reg, "eventlog_queue_store_seconds")
			}
			b.ReportMetric(float64(b.N)/batches, "events/batch")
			b.ReportMetric(storeSecs/b.Elapsed().Seconds()/float64(workers), "store-busy")
		})
	}
}

// publishAll publishes evs in batches of size from clients goroutines,
// spread over pubs.
func publishAll(b *testing.B, pubs []*natsqueue.Publisher, evs []eventlog.Event, size, clients int) {
	ctx := context.Background()
	next := make(chan []eventlog.Event)
	var wg sync.WaitGroup
	for c := range clients {
		pub := pubs[c%len(pubs)]
		wg.Go(func() {
			for batch := range next {
				if err := pub.Publish(ctx, batch); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := 0; i < len(evs); i += size {
		next <- evs[i:min(i+size, len(evs))]
	}
	close(next)
	wg.Wait()
}

// waitStoredCount waits until the workers whose metrics go to regs
// report n events stored (reading the store itself would load it).
func waitStoredCount(b *testing.B, regs []*prometheus.Registry, n int, within time.Duration) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		sum := 0.0
		for _, reg := range regs {
			sum += metric(b, reg, "eventlog_queue_stored_total")
		}
		if sum >= float64(n) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("fewer than %d events stored after %s", n, within)
}

// histogramSum returns the sum of a histogram's observations.
func histogramSum(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	t.Fatalf("metric %s is not registered", name)
	return 0
}

// BenchmarkDrain measures how fast 1 or 2 workers empty a backlog: the
// events are published first, untimed, then the workers start. It
// separates the worker and the store from the publishers' CPU. One op is
// one event.
func BenchmarkDrain(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			bb := setup(b)
			pub, err := natsqueue.NewPublisher(bb.js, bb.cfg)
			if err != nil {
				b.Fatal(err)
			}
			publishAll(b, []*natsqueue.Publisher{pub}, events(b, b.N, "BENCH_DRAIN"), 100, 8)
			var regs []*prometheus.Registry
			var ws []*natsqueue.Worker
			for range workers {
				c := *bb.cfg
				reg := prometheus.NewRegistry()
				regs = append(regs, reg)
				c.Registerer = reg
				_, js := connect(b, natsURL)
				w, err := natsqueue.NewWorker(js, bb.store, &c)
				if err != nil {
					b.Fatal(err)
				}
				ws = append(ws, w)
			}
			b.ResetTimer()
			for _, w := range ws {
				runWorker(b, w)
			}
			waitStoredCount(b, regs, b.N, 5*time.Minute)
			b.StopTimer()
			var storeSecs float64
			for _, reg := range regs {
				storeSecs += histogramSum(b, reg, "eventlog_queue_store_seconds")
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(storeSecs/b.Elapsed().Seconds()/float64(workers), "store-busy")
		})
	}
}
