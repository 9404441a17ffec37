package cli

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlog/eventlog"
)

func init() { addCommand(newImportCmd) }

// importBatch is how many events import stores per transaction.
const importBatch = 1000

// maxImportLine bounds one JSONL line: 64 KiB of extra, escaped, plus
// the other fields, with room to spare.
const maxImportLine = 4 << 20

// importCounts is what import reports.
type importCounts struct {
	read, stored, present int64
}

func (c importCounts) String() string {
	return fmt.Sprintf("Read %d %s: %d stored, %d already present.", c.read, plural(c.read, "event", "events"), c.stored, c.present)
}

func newImportCmd(e *env) *cobra.Command {
	var (
		fromPinax  string
		batch      int
		redactKeys []string
	)
	cmd := &cobra.Command{
		Use:   "import FILE | --from-pinax DATABASE_URL",
		Short: "Store events from a JSONL file or a pinax-eventlog database",
		Long: `import FILE stores the events of a JSONL file in canonical form (one event
per line, as written by 'eventlog export --format jsonl' or 'events --format
jsonl'); FILE - reads stdin. Blank lines are skipped.

Events are stored in batches of --batch (1000), each batch in one
transaction: all of its events or none. Import is idempotent by id: an event
whose id is already stored is left as it is and counted as already present,
so re-importing a file adds nothing. A bad line stops the import with an
error naming its line number; nothing of its batch is stored, the batches
before it are (fix the line and import the file again: they will count as
already present). An event without an id gets a new one, so such lines are
stored again by a second import.

import --from-pinax DATABASE_URL reads the table pinax_eventlog_log of a
Django site using pinax-eventlog, from PostgreSQL (postgres://…), MySQL or
MariaDB (mysql://…) or SQLite (sqlite:PATH), joined to auth_user and
django_content_type, and stores every row: the user id and username, the
object as type "app_label.model" and id, the timestamp, the action and
extra. Each event's id is derived from the pinax row id (a UUIDv5), so
importing the same table again adds only the rows that are new. A row with
a content type but no object id (or the reverse) is imported without an
object. The source database is only read.

Values of extra and context keys named in --redact-keys (default: the list
of 'serve') are stored as "[redacted]", as the server would store them;
--redact-keys '' keeps everything as it is in the input.

On a terminal, progress is shown on stderr. The counts (read, stored,
already present) are printed on stdout.`,
		Example: `  eventlog import events.jsonl
  gunzip -c signups.jsonl.gz | eventlog --db postgres://postgres@localhost/app import -
  eventlog import --from-pinax postgres://django@localhost/site`,
		Args: func(cmd *cobra.Command, args []string) error {
			if fromPinax != "" {
				if len(args) > 0 {
					return usageErrorf("unexpected argument %q: --from-pinax reads a database, not a file", args[0])
				}
				return nil
			}
			if cmd.Flags().Changed("from-pinax") {
				return usageErrorf("invalid --from-pinax: must be a database URL")
			}
			return exactArgs("FILE")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch < 1 || batch > 100_000 {
				return usageErrorf("invalid --batch %d: must be between 1 and 100000", batch)
			}
			redact := eventlog.NewRedactor(eventlog.DefaultRedactKeys())
			if cmd.Flags().Changed("redact-keys") {
				redact = eventlog.NewRedactor(redactKeys)
			}
			ctx := cmd.Context()
			var (
				in          io.Reader
				size        int64 = -1
				pinax       *sql.DB
				pinaxSelect string
			)
			if fromPinax != "" {
				var err error
				if pinax, pinaxSelect, err = openPinax(fromPinax); err != nil {
					return err
				}
				defer pinax.Close()
			} else {
				if args[0] == "-" {
					in = e.stdin
				} else {
					f, err := os.Open(args[0])
					if err != nil {
						return usageErrorf("FILE: %v", err)
					}
					defer f.Close()
					if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
						size = fi.Size()
					}
					in = f
				}
			}
			st, err := e.openStore(ctx, false)
			if err != nil {
				return err
			}
			defer st.Close()
			imp := &importer{store: st, batch: batch, redact: redact, now: e.now}
			if fromPinax != "" {
				err = imp.fromPinax(ctx, e, pinax, pinaxSelect, fromPinax)
			} else {
				err = imp.jsonl(ctx, e, in, size)
			}
			if err != nil {
				if imp.counts.read > 0 {
					fmt.Fprintln(e.stdout, imp.counts) //nolint:errcheck // the error below matters more
				}
				return err
			}
			_, err = fmt.Fprintln(e.stdout, imp.counts)
			return err
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&fromPinax, "from-pinax", "", "read pinax-eventlog's table from the Django database at `URL`")
	f.IntVar(&batch, "batch", importBatch, "events stored per transaction")
	f.StringSliceVar(&redactKeys, "redact-keys", nil, "store the values of these extra and context `KEYS` as \"[redacted]\"; '' for none (default: as serve)")
	return cmd
}

// importer stores events batch by batch and counts them.
type importer struct {
	store  eventlog.Store
	batch  int
	redact *eventlog.Redactor
	now    func() time.Time
	counts importCounts
}

// insert stores one batch and adds it to the counts.
func (imp *importer) insert(ctx context.Context, events []eventlog.Event) error {
	_, inserted, err := imp.store.Insert(ctx, events)
	if err != nil {
		return err
	}
	for _, ok := range inserted {
		if ok {
			imp.counts.stored++
		} else {
			imp.counts.present++
		}
	}
	return nil
}

// jsonl imports canonical JSON lines from in (size bytes, or -1 when
// unknown, for the progress bar).
func (imp *importer) jsonl(ctx context.Context, e *env, in io.Reader, size int64) error {
	cr := &countingReader{r: in}
	sc := bufio.NewScanner(cr)
	sc.Buffer(make([]byte, 0, 64<<10), maxImportLine)
	bar := newProgress(e.stderr, size, "importing", true)
	defer bar.done()
	events := make([]eventlog.Event, 0, imp.batch)
	var line, first int64
	flush := func() error {
		if len(events) == 0 {
			return nil
		}
		if err := imp.insert(ctx, events); err != nil {
			imp.counts.read = imp.counts.stored + imp.counts.present
			return fmt.Errorf("storing lines %d–%d: %w (%d events of earlier lines were stored)", first, line, err, imp.counts.stored)
		}
		events = events[:0]
		bar.set(cr.n)
		return nil
	}
	for sc.Scan() {
		line++
		text := sc.Bytes()
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte(utf8BOM))
		}
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		if len(events) == 0 {
			first = line
		}
		ev, err := eventlog.ParseEvent(text, imp.now())
		if err != nil {
			return imp.badLine(line, first, err)
		}
		imp.redact.RedactEvent(&ev)
		imp.counts.read++
		events = append(events, ev)
		if len(events) == imp.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return imp.badLine(line+1, first, fmt.Errorf("is longer than %d bytes", maxImportLine))
		}
		return fmt.Errorf("reading line %d: %w", line+1, err)
	}
	return flush()
}

// badLine reports a line that is not a valid event, and what was stored.
func (imp *importer) badLine(line, first int64, err error) error {
	// Only the batches stored count as read; the failed one is not.
	imp.counts.read = imp.counts.stored + imp.counts.present
	if first == 0 || first > line {
		first = line
	}
	return fmt.Errorf("line %d: %v; nothing of lines %d–%d was stored, %d events of earlier lines were", line, err, first, line, imp.counts.stored)
}

// countingReader counts the bytes read through it, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
