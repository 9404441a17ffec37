package natsqueue_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog/natsqueue"
	"github.com/eventlog/eventlog/pgstore"
)

// tcpProxy forwards loopback connections to a server and can cut them
// all and refuse new ones: a database outage as the worker sees it,
// without stopping the shared server.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func newTCPProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.setDown(true) })
	go p.serve()
	return p
}

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.mu.Unlock()
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go func() { io.Copy(s, c); s.Close() }()
		go func() { io.Copy(c, s); c.Close() }()
	}
}

// setDown cuts every open connection and refuses new ones, or lets them
// through again.
func (p *tcpProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// PostgreSQL becomes unreachable while events arrive: the worker backs
// off, nothing is acknowledged, and everything lands once it is back.
func TestPostgresOutageLosesNothing(t *testing.T) {
	t.Parallel()
	dbURL := os.Getenv("EVENTLOG_TEST_POSTGRES")
	if dbURL == "" {
		msg := "EVENTLOG_TEST_POSTGRES is not set; to run the PostgreSQL outage test set it, e.g. EVENTLOG_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	b := setup(t) // its store is not used: the worker's goes through the proxy
	ctx := context.Background()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	schema := "eventlog_natsqueue_" + randomName()
	pgExec(t, dbURL, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { pgExec(t, dbURL, "DROP SCHEMA "+schema+" CASCADE") })
	u.Host = proxy.ln.Addr().String()
	store, err := pgstore.Open(ctx, u.String(), &pgstore.Options{Migrate: true, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })

	w, err := natsqueue.NewWorker(b.js, store, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	pub, err := natsqueue.NewPublisher(b.js, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	before := events(t, 200, "BEFORE_OUTAGE")
	if err := pub.Publish(ctx, before); err != nil {
		t.Fatal(err)
	}
	waitStored(t, store, len(before), 20*time.Second)

	proxy.setDown(true)
	during := events(t, 1000, "DURING_OUTAGE")
	if err := pub.Publish(ctx, during); err != nil {
		t.Fatal(err) // ingest does not depend on the database
	}
	deadline := time.Now().Add(20 * time.Second)
	for metric(t, b.reg, "eventlog_queue_store_errors_total") < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := metric(t, b.reg, "eventlog_queue_store_errors_total"); got < 3 {
		t.Fatalf("store errors = %v during the outage, want the worker to have tried at least 3 times", got)
	}
	time.Sleep(500 * time.Millisecond) // the outage lasts a while
	proxy.setDown(false)

	ids := waitStored(t, store, len(before)+len(during), 60*time.Second)
	checkExactlyOnce(t, ids, append(before, during...))
}
