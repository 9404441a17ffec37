package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the server's concurrent logs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tokenBundles are the databases the token and serve commands are tried
// on: SQLite, PostgreSQL when EVENTLOG_TEST_POSTGRES is set and MySQL
// when EVENTLOG_TEST_MYSQL is set.
var tokenBundles = []struct {
	name  string
	setup func(t *testing.T) *bundle
}{
	{"sqlite", setupStore},
	{"postgres", func(t *testing.T) *bundle {
		b := postgresBundle(t)
		b.mustRun(t, "migrate")
		return b
	}},
	{"mysql", func(t *testing.T) *bundle {
		b := mysqlBundle(t)
		b.mustRun(t, "migrate")
		return b
	}},
}

func TestToken(t *testing.T) {
	t.Parallel()
	for _, tb := range tokenBundles {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b := tb.setup(t)
			secret := b.mustRun(t, "token", "create", "--name", "billing", "--scope", "write")
			if !strings.HasPrefix(secret, "evl_") || len(secret) != len("evl_")+64+1 || strings.Count(secret, "\n") != 1 {
				t.Fatalf("token create printed %q, want evl_ and 64 hex digits alone on a line", secret)
			}
			b.mustRun(t, "token", "create", "--name", "dash", "--scope", "read")
			list := b.mustRun(t, "token", "list")
			if !strings.HasPrefix(list, "NAME") || !strings.Contains(list, "billing  write") || !strings.Contains(list, "dash     read") || strings.Contains(list, strings.TrimSpace(secret)) {
				t.Errorf("token list = %q", list)
			}
			for _, c := range []struct {
				args []string
				code int
				msg  string
			}{
				{[]string{"token", "create", "--name", "billing", "--scope", "read"}, 2, "already exists"},
				{[]string{"token", "create", "--name", "x", "--scope", "root"}, 2, "--scope"},
				{[]string{"token", "create", "--scope", "read"}, 2, "--name is required"},
				{[]string{"token", "create", "--name", "has space", "--scope", "read"}, 2, "--name"},
				{[]string{"token", "revoke"}, 2, "missing NAME"},
				{[]string{"token", "revoke", "nobody"}, 1, `no token is named "nobody"`},
			} {
				r := b.run(t, c.args...)
				if r.code != c.code || !strings.Contains(r.stderr, c.msg) || r.stdout != "" {
					t.Errorf("eventlog %s: exit %d, stdout %q, stderr %q; want exit %d mentioning %q", strings.Join(c.args, " "), r.code, r.stdout, r.stderr, c.code, c.msg)
				}
			}
			b.mustRun(t, "token", "revoke", "billing")
			if list := b.mustRun(t, "token", "list"); strings.Contains(list, "billing") {
				t.Errorf("revoked token still listed: %q", list)
			}
		})
	}
}

// startServe runs serve on a free port against b's database and returns
// its base URL, its log and a stop function that returns serve's error.
func startServe(t *testing.T, b *bundle, o serveOptions) (string, *lockedBuffer, func() error) {
	t.Helper()
	if o.addr == "" {
		o.addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	e := &env{
		stdin: strings.NewReader(""), stdout: io.Discard, stderr: logs,
		getenv: func(k string) string {
			if k == "EVENTLOG_DB" {
				return b.db
			}
			return ""
		},
		now: time.Now,
	}
	if o.logFormat == "" {
		o.logFormat = "text"
	}
	if o.shutdownTimeout == 0 {
		o.shutdownTimeout = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, e, ln, o) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not stop within 10s of the signal")
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	url := "http://" + ln.Addr().String()
	// Wait until ready, or until serve failed to start.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-done:
			stopped = true
			return url, logs, func() error { return err }
		default:
		}
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url, logs, stop
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("serve did not become ready; log:\n%s", logs.String())
	return "", nil, nil
}

func httpDo(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestServe(t *testing.T) {
	t.Parallel()
	for _, tb := range tokenBundles {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b := tb.setup(t)

			// No token yet: open to loopback, with a warning.
			url, logs, stop := startServe(t, b, serveOptions{})
			if status, body := httpDo(t, "POST", url+"/api/v1/events", "", `{"action":"FIRST_RUN"}`); status != 201 {
				t.Fatalf("POST with no tokens: %d %s", status, body)
			}
			if err := stop(); err != nil {
				t.Fatalf("serve returned %v after the signal", err)
			}
			if l := logs.String(); !strings.Contains(l, "no API token exists") || !strings.Contains(l, "stopped") || !strings.Contains(l, "http request") {
				t.Errorf("serve log lacks the no-token warning, the access log or the stop line:\n%s", l)
			}

			// With tokens, they are enforced and never logged.
			secret := strings.TrimSpace(b.mustRun(t, "token", "create", "--name", "svc", "--scope", "admin"))
			url, logs, stop = startServe(t, b, serveOptions{logFormat: "json"})
			if status, _ := httpDo(t, "GET", url+"/api/v1/events", "", ""); status != 401 {
				t.Errorf("GET without a token once one exists: %d, want 401", status)
			}
			if status, body := httpDo(t, "GET", url+"/api/v1/events?action=FIRST_RUN", secret, ""); status != 200 || !strings.Contains(body, "FIRST_RUN") {
				t.Errorf("GET with the token: %d %s", status, body)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			l := logs.String()
			if strings.Contains(l, secret) || strings.Contains(l, secret[4:20]) {
				t.Errorf("the token appears in the log:\n%s", l)
			}
			if !strings.Contains(l, `"token_name":"svc"`) || strings.Contains(l, "no API token exists") {
				t.Errorf("JSON log should name the token and not warn:\n%s", l)
			}
		})
	}
}

func TestServeRefusesOutdatedSchema(t *testing.T) {
	t.Parallel()
	b := postgresBundle(t) // not migrated
	_, logs, stop := startServe(t, b, serveOptions{})
	if err := stop(); err == nil || !strings.Contains(err.Error(), "eventlog migrate") {
		t.Fatalf("serve on an empty PostgreSQL schema returned %v, want an error pointing at eventlog migrate; log:\n%s", err, logs.String())
	}
	url, _, stop := startServe(t, b, serveOptions{migrate: true})
	if status, _ := httpDo(t, "GET", url+"/healthz", "", ""); status != 200 {
		t.Fatalf("serve --migrate: /healthz %d", status)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServeUsage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"serve", "--tls-cert", "c.pem"}, "--tls-cert and --tls-key"},
		{[]string{"serve", "--log-format", "xml"}, "--log-format"},
		{[]string{"serve", "extra"}, "unexpected argument"},
	} {
		r := runCLI(t, nil, c.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("eventlog %s: exit %d, stderr %q; want 2 mentioning %q", strings.Join(c.args, " "), r.code, r.stderr, c.msg)
		}
	}
}

func TestServeWarnsOnPlainHTTPBeyondLoopback(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	_, logs, stop := startServe(t, b, serveOptions{addr: "0.0.0.0:0"})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if l := logs.String(); !strings.Contains(l, "non-loopback") || !strings.Contains(l, "--tls-cert") {
		t.Errorf("no plain-HTTP warning when serving on 0.0.0.0:\n%s", l)
	}
	_, logs, stop = startServe(t, b, serveOptions{})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "non-loopback") {
		t.Errorf("plain-HTTP warning on loopback:\n%s", logs.String())
	}
}
