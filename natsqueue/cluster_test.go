package natsqueue_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/eventlog/eventlog/natsqueue"
)

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// cluster is a 3-node JetStream cluster embedded in the test, on
// loopback ports, each node with its own store directory.
type cluster struct {
	t       testing.TB
	opts    []func() *server.Options
	servers []*server.Server
	urls    string
}

func startCluster(t testing.TB) *cluster {
	t.Helper()
	ports := freePorts(t, 6)
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
	}
	c := &cluster{t: t}
	var urls []string
	for i := range 3 {
		dir := filepath.Join(t.TempDir(), fmt.Sprint("n", i))
		c.opts = append(c.opts, func() *server.Options {
			return &server.Options{
				ServerName: fmt.Sprint("n", i),
				Port:       ports[i],
				StoreDir:   dir,
				Cluster:    server.ClusterOpts{Name: "eventlog-test", Host: "127.0.0.1", Port: ports[3+i]},
				Routes:     server.RoutesFromStr(strings.Join(routes, ",")),
			}
		})
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	c.urls = strings.Join(urls, ",")
	c.servers = make([]*server.Server, 3)
	for i := range 3 {
		c.start(i)
	}
	t.Cleanup(func() {
		for _, s := range c.servers {
			if s != nil {
				s.Shutdown()
				s.WaitForShutdown()
			}
		}
	})
	return c
}

func (c *cluster) start(i int) {
	s, err := startServer(c.opts[i]())
	if err != nil {
		c.t.Fatalf("starting node %d: %v", i, err)
	}
	c.servers[i] = s
}

func (c *cluster) stop(i int) {
	c.servers[i].Shutdown()
	c.servers[i].WaitForShutdown()
	c.servers[i] = nil
}

// A node of a 3-node cluster restarts while clients publish: every event
// whose Publish returned nil is stored, exactly once.
func TestClusterNodeRestartLosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node JetStream cluster; skipped with -short")
	}
	t.Parallel()
	cl := startCluster(t)
	ctx := context.Background()
	_, js := connect(t, cl.urls)
	cfg := &natsqueue.Config{
		Stream: "EVENTLOG_CLUSTER", Subject: "eventlogcluster", Replicas: 3,
		FetchWait: 100 * time.Millisecond, AckWait: 2 * time.Second,
		NakDelay: 50 * time.Millisecond, MaxNakDelay: 200 * time.Millisecond,
	}
	deadline := time.Now().Add(60 * time.Second)
	for { // the cluster needs a meta leader before it takes a replicated stream
		_, err := natsqueue.EnsureStream(ctx, js, cfg)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not accept a 3-replica stream within 60s: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// More events than the clients can send before they are told to stop,
	// half a second after the restart: ingest spans the restart however
	// fast the machine is.
	all := events(t, 30000, "CLUSTERED")
	stop := make(chan struct{})
	var sent atomic.Int64 // events in batches the clients started
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	const clients = 4
	for c := range clients {
		_, js := connect(t, cl.urls)
		pub, err := natsqueue.NewPublisher(js, cfg)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for i := c * 25; i < len(all); i += clients * 25 {
				select {
				case <-stop:
					return
				default:
				}
				batch := all[i:min(i+25, len(all))]
				sent.Add(int64(len(batch)))
				// A client retries what was not acknowledged, as an
				// ingest node's caller would; dedupe makes that safe.
				for attempt := 0; ; attempt++ {
					pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					err := pub.Publish(pctx, batch)
					cancel()
					if err == nil {
						mu.Lock()
						for _, e := range batch {
							acked[e.ID] = true
						}
						mu.Unlock()
						break
					}
					if attempt == 100 {
						t.Errorf("batch at %d never acknowledged: %v", i, err)
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
				time.Sleep(10 * time.Millisecond) // spread ingest over the restart
			}
		})
	}
	// Restart the stream's leader, the node that acknowledges publishes.
	time.Sleep(300 * time.Millisecond)
	stream, err := js.Stream(ctx, cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader := 0
	fmt.Sscanf(info.Cluster.Leader, "n%d", &leader)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	before := count()
	cl.stop(leader)
	time.Sleep(time.Second)
	cl.start(leader)
	after := count()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	final := count()
	if before == 0 || final == after {
		t.Errorf("ingest did not span the restart: %d events acknowledged before it, %d by the restart, %d in all", before, after, final)
	}
	t.Logf("restarted leader n%d: %d events acknowledged before the stop, %d by the restart, %d in all", leader, before, after, final)

	store := newStore(t)
	w, err := natsqueue.NewWorker(js, store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	deadline = time.Now().Add(60 * time.Second)
	var ids map[string]int
	for {
		ids = storedIDs(t, store)
		missing := 0
		for id := range acked {
			if ids[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events are not stored after 60s", missing, len(acked))
		}
		time.Sleep(100 * time.Millisecond)
	}
	published := map[string]bool{}
	for _, e := range all {
		published[e.ID] = true
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("event %s stored %d times", id, n)
		}
		if !published[id] {
			t.Errorf("stored event %s was never published", id)
		}
	}
	if int64(len(acked)) != sent.Load() {
		t.Errorf("%d of %d sent events acknowledged; every batch should succeed on retry", len(acked), sent.Load())
	}
}
