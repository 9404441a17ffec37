package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventlog/eventlog/cli"
)

// childArgsEnv, when set, makes this test binary run `eventlog` with the
// JSON-encoded arguments instead of the tests: the real command in a
// process the tests can kill.
const childArgsEnv = "EVENTLOG_FAULTTEST_ARGS"

func TestMain(m *testing.M) {
	if raw := os.Getenv(childArgsEnv); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintln(os.Stderr, "faulttest child:", err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Run(ctx, args, os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// server is a running `eventlog serve` child process.
type server struct {
	url    string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServe runs `eventlog serve --db db` on a free loopback port with no
// token (the API answers loopback clients) and waits until it answers.
func startServe(t *testing.T, db string, args ...string) *server {
	t.Helper()
	return startServeOn(t, freePort(t), db, args...)
}

func startServeOn(t *testing.T, port int, db string, args ...string) *server {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	all, _ := json.Marshal(append([]string{"serve", "--db", db, "--addr", addr, "--log-format", "json"}, args...))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(all))
	s := &server{url: "http://" + addr, cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() { s.kill() })
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			t.Fatalf("serve exited before answering: %s", s.stderr)
		default:
		}
		if resp, err := c.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("serve did not answer /healthz within 30s: %s", s.stderr)
	return nil
}

// kill sends SIGKILL: no deferred function, no flush, no shutdown runs.
func (s *server) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.exited
}

// stop sends SIGTERM and waits for a graceful exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("serve did not exit within 30s of SIGTERM: %s", s.stderr)
		s.kill()
	}
}

func (s *server) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// rssKB returns a /proc/PID/status figure of the child in kB: VmRSS now
// or VmHWM, the peak.
func (s *server) rssKB(t *testing.T, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/status")
	if err != nil {
		t.Skipf("reading the child's memory needs /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	t.Fatalf("no %s in /proc status", field)
	return 0
}

// ledger records what the server answered for each request sent.
type ledger struct {
	mu      sync.Mutex
	acked   map[string]bool // event ids answered 201
	pending []request       // requests answered anything else, to retry
	status  map[int]int     // answers by status; 0 counts transport errors
}

// request is one POST body and the ids of the events it carries.
type request struct {
	body []byte
	ids  []string
}

func newLedger() *ledger {
	return &ledger{acked: map[string]bool{}, status: map[int]int{}}
}

func (l *ledger) record(r request, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status[status]++
	if status != http.StatusCreated {
		l.pending = append(l.pending, r)
		return
	}
	for _, id := range r.ids {
		l.acked[id] = true
	}
}

func (l *ledger) counts() (acked, unsure int, status map[int]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := map[int]int{}
	for k, v := range l.status {
		st[k] = v
	}
	for _, r := range l.pending {
		unsure += len(r.ids)
	}
	return len(l.acked), unsure, st
}

// retry resends every pending request once; each must now be answered 201.
func (l *ledger) retry(t *testing.T, url string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	l.mu.Lock()
	pending := l.pending
	l.pending = nil
	l.mu.Unlock()
	for _, r := range pending {
		if st := post(c, url, r.body); st != http.StatusCreated {
			t.Fatalf("retrying a request of %d events (first %s) with the same ids: status %d", len(r.ids), r.ids[0], st)
		}
		l.record(r, http.StatusCreated)
	}
}

// newBody returns a POST body of n events (an object when n is 1) with
// ids chosen by the client, so a retry is recognised as the same event.
func newBody(n int) request {
	ids := make([]string, n)
	var b bytes.Buffer
	if n > 1 {
		b.WriteByte('[')
	}
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String()
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%q,"action":"FAULT_TEST","user":{"id":"u%d","name":"fault"},"extra":{"i":%d,"note":"sustained ingest"}}`, ids[i], i%50, i)
	}
	if n > 1 {
		b.WriteByte(']')
	}
	return request{body: b.Bytes(), ids: ids}
}

// post sends body and returns the status, 0 for a transport error.
func post(c *http.Client, url string, body []byte) int {
	resp, err := c.Post(url+"/api/v1/events", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// ingest posts from workers goroutines until ctx is done: odd workers
// send single events, even ones batches of 20.
func ingest(ctx context.Context, url string, workers int, l *ledger) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			c := &http.Client{Timeout: 5 * time.Second}
			n := 1
			if w%2 == 0 {
				n = 20
			}
			for ctx.Err() == nil {
				r := newBody(n)
				st := post(c, url, r.body)
				l.record(r, st)
				if st != http.StatusCreated {
					time.Sleep(20 * time.Millisecond) // do not spin on a dead server
				}
			}
		})
	}
	wg.Wait()
}

// quietLog discards the Logger's background error log in tests that
// provoke errors on purpose.
func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
