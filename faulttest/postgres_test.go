package faulttest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const pgBin = "/usr/lib/postgresql/15/bin"

// privatePostgres is a PostgreSQL cluster of this test alone, on a free
// port, so it can be stopped without disturbing anyone else's tests.
type privatePostgres struct {
	t       *testing.T
	dir     string
	port    int
	asOther []string // prefix that runs a command as the postgres user
}

// startPrivatePostgres runs initdb and pg_ctl start in a new directory.
// As root it runs them as the postgres user (PostgreSQL refuses root);
// it skips the test when that is impossible.
func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		t.Skipf("PostgreSQL 15 binaries are not at %s; install postgresql-15 to run this test", pgBin)
	}
	p := &privatePostgres{t: t, port: freePort(t)}
	dir, err := os.MkdirTemp("", "eventlog-faulttest-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			t.Skip("running as root and runuser is missing: PostgreSQL refuses to run as root, so this test cannot start its own server")
		}
		p.asOther = []string{runuser, "-u", "postgres", "--"}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("chown", "postgres:postgres", dir).CombinedOutput(); err != nil {
			t.Skipf("cannot hand %s to the postgres user: %v %s", dir, err, out)
		}
	}
	p.run("initdb", "-D", p.data(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
	p.start()
	t.Cleanup(func() { p.pgctl("stop", "-m", "immediate") })
	return p
}

func (p *privatePostgres) data() string { return filepath.Join(p.dir, "data") }

func (p *privatePostgres) url() string {
	return "postgres://postgres@127.0.0.1:" + strconv.Itoa(p.port) + "/postgres?sslmode=disable"
}

func (p *privatePostgres) run(name string, args ...string) {
	p.t.Helper()
	argv := append(append(append([]string{}, p.asOther...), filepath.Join(pgBin, name)), args...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func (p *privatePostgres) pgctl(args ...string) {
	p.t.Helper()
	p.run("pg_ctl", append([]string{"-D", p.data(), "-w", "-t", "60"}, args...)...)
}

func (p *privatePostgres) start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c max_connections=50 -c shared_buffers=16MB", p.port, p.dir)
	p.pgctl("start", "-l", filepath.Join(p.dir, "log"), "-o", opts)
}

// TestPostgresRestartDuringIngest: eight clients post to a real serve
// process over a private PostgreSQL; the database is killed (pg_ctl stop
// -m immediate, like a crash) and started again during the ingest. While
// it is down the server must answer errors, never a false 201; it must
// answer 201 again after the restart without being restarted itself; and
// every event answered 201 must be in the database.
func TestPostgresRestartDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a private PostgreSQL")
	}
	t.Parallel()
	pg := startPrivatePostgres(t)
	srv := startServe(t, pg.url(), "--migrate")

	l := newLedger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ingest(ctx, srv.url, 8, l); close(done) }()
	time.Sleep(1500 * time.Millisecond)
	before, _, _ := l.counts()

	pg.pgctl("stop", "-m", "immediate")
	time.Sleep(2 * time.Second)
	downAcked, _, downStatus := l.counts()
	pg.start()
	restartedAt := time.Now()

	// Recovery: a new request is answered 201 without restarting serve.
	var recovered time.Duration
	c := &http.Client{Timeout: 5 * time.Second}
	for time.Since(restartedAt) < 30*time.Second {
		r := newBody(1)
		st := post(c, srv.url, r.body)
		l.record(r, st)
		if st == http.StatusCreated {
			recovered = time.Since(restartedAt)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	cancel()
	<-done
	if recovered == 0 {
		t.Fatalf("serve answered no 201 within 30s of PostgreSQL's restart: %s", srv.stderr)
	}
	if !srv.running() {
		t.Fatalf("serve exited while the database was down: %s", srv.stderr)
	}
	acked, unsure, status := l.counts()
	errorsSeen := 0
	for st, n := range status {
		if st != http.StatusCreated {
			errorsSeen += n
		}
	}
	if errorsSeen == 0 {
		t.Fatalf("no request failed while PostgreSQL was down for 2s (answers by status %v): the outage was not observed", status)
	}
	if status[http.StatusInternalServerError] > 0 {
		t.Errorf("%d answers were 500 while the database was down, want 503 (retry): answers by status %v", status[http.StatusInternalServerError], status)
	}

	conn, err := pgx.Connect(context.Background(), pg.url())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	stored := map[string]bool{}
	rows, err := conn.Query(context.Background(), "SELECT id::text FROM eventlog_events WHERE action = 'FAULT_TEST'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id := range l.acked {
		if !stored[id] {
			t.Errorf("event %s was answered 201 but is not in PostgreSQL", id)
		}
	}
	t.Logf("%d events acknowledged before the stop, %d by the end of the 2s outage; answers by status (0 = connection error) up to the restart %v, in all %v; 201 again %v after the restart without restarting serve; all %d acknowledged events stored; %d unanswered, %d of them stored anyway (committed, answer lost)",
		before, downAcked, downStatus, status, recovered.Round(time.Millisecond), acked, unsure, len(stored)-acked)
}
