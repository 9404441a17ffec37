package cli

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/sqlitestore"
)

// FuzzImportLines feeds arbitrary JSONL to the importer of `eventlog
// import` over a real SQLite file. It must never panic; a bad input is an
// error naming its line; an accepted input stores or finds every
// non-blank line, and stored+present equals read.
func FuzzImportLines(f *testing.F) {
	for _, s := range []string{
		"{\"action\":\"A\"}\n{\"action\":\"B\",\"extra\":{\"password\":\"x\"}}\n",
		"\ufeff{\"id\":\"0190f3a4-7b2c-7d1e-8f00-0123456789ab\",\"action\":\"A\"}\r\n\n   \n{\"id\":\"0190f3a4-7b2c-7d1e-8f00-0123456789ab\",\"action\":\"A\"}",
		"{\"action\":\"A\"}\nnot json\n",
		"[{\"action\":\"A\"}]\n",
		"{\"action\":\"A\",\"extra\":{\"k\":\"\\ud800\"}}\n",
		"",
	} {
		f.Add([]byte(s))
	}
	st, err := sqlitestore.Open(context.Background(), filepath.Join(f.TempDir(), "import.db"), &sqlitestore.Options{Synchronous: "NORMAL"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	e := &env{stdout: io.Discard, stderr: io.Discard, now: func() time.Time { return testNow }}
	lineErr := regexp.MustCompile(`^line \d+: `)
	f.Fuzz(func(t *testing.T, data []byte) {
		imp := &importer{store: st, batch: 3, redact: eventlog.NewRedactor(eventlog.DefaultRedactKeys()), now: e.now}
		err := imp.jsonl(context.Background(), e, bytes.NewReader(data), int64(len(data)))
		c := imp.counts
		if c.stored+c.present != c.read {
			t.Fatalf("counts %+v: stored + present != read", c)
		}
		if err != nil {
			if !lineErr.MatchString(err.Error()) {
				t.Fatalf("import error does not start by naming the line: %v", err)
			}
			return
		}
		lines := 0
		for i, l := range strings.Split(string(data), "\n") {
			if i == 0 {
				l = strings.TrimPrefix(l, utf8BOM)
			}
			if strings.TrimSpace(l) != "" {
				lines++
			}
		}
		if c.read != int64(lines) {
			t.Fatalf("import of %d non-blank lines read %d events", lines, c.read)
		}
	})
}
