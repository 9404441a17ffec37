package cli

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/eventlog/eventlog"
)

func init() { addCommand(newExportCmd) }

// exportPage is how many events export reads per query: the most one
// page may hold, so memory stays constant whatever the total.
const exportPage = eventlog.MaxLimit

// utf8BOM starts a CSV export so spreadsheets (Excel in particular) read
// it as UTF-8 rather than the system's legacy code page.
const utf8BOM = "\ufeff"

// filterFlags are the filters of `events`, shared by commands that select
// events the same way.
type filterFlags struct {
	actions, wheres                 []string
	user, object, since, until, txt string
}

func (ff *filterFlags) register(f *pflag.FlagSet) {
	f.StringArrayVar(&ff.actions, "action", nil, "keep events with this `ACTION` (repeatable: any of them)")
	f.StringVar(&ff.user, "user", "", "keep events of the user with this `ID`")
	f.StringVar(&ff.object, "object", "", "keep events linked to `TYPE[:ID]`")
	f.StringVar(&ff.since, "since", "", "keep events at or after `TIME` (RFC 3339 or an age like 7d)")
	f.StringVar(&ff.until, "until", "", "keep events before `TIME` (RFC 3339 or an age like 12h)")
	f.StringVarP(&ff.txt, "q", "q", "", "keep events containing `TEXT`, case-insensitively")
	f.StringArrayVar(&ff.wheres, "where", nil, "keep events whose extra has `KEY=VALUE` (repeatable: all of them)")
}

// query builds the normalized query the flags describe, with errors
// naming the flag.
func (ff *filterFlags) query(cmd *cobra.Command, e *env, limit int) (eventlog.Query, error) {
	now := e.now()
	q := eventlog.Query{Actions: ff.actions, UserID: ff.user, Text: ff.txt, Limit: limit}
	if cmd.Flags().Changed("object") {
		typ, id, _ := strings.Cut(ff.object, ":")
		if typ == "" {
			return q, usageErrorf("invalid --object %q: must be TYPE or TYPE:ID, like widget:17", ff.object)
		}
		q.ObjectType, q.ObjectID = typ, id
	}
	var err error
	if cmd.Flags().Changed("since") {
		if q.Since, err = eventlog.ParseTime("since", ff.since, now); err != nil {
			return q, asUsage(err, "--since")
		}
	}
	if cmd.Flags().Changed("until") {
		if q.Until, err = eventlog.ParseTime("until", ff.until, now); err != nil {
			return q, asUsage(err, "--until")
		}
	}
	for _, s := range ff.wheres {
		w, err := eventlog.ParseWhere(s)
		if err != nil {
			return q, asUsage(err, "--where")
		}
		q.Where = append(q.Where, w)
	}
	if err := q.Normalize(); err != nil {
		return q, asUsage(err, queryFlag(err))
	}
	return q, nil
}

func newExportCmd(e *env) *cobra.Command {
	var (
		ff      filterFlags
		format  string
		output  string
		noBOM   bool
		pageLen int
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write every matching event to a JSONL or CSV file",
		Long: `export writes all events that match the filters (the filters of 'events'),
newest first, however many there are: it reads them a page at a time with
a cursor, so memory stays constant. The output goes to stdout or to -o FILE.
On a terminal, a progress counter is shown on stderr.

Formats:
  jsonl  one event per line in canonical JSON form, the form 'eventlog
         import' reads back: an export re-imported elsewhere is identical
         field for field.
  csv    UTF-8 with a byte-order mark (so spreadsheets such as Excel read
         accents and symbols correctly; --no-bom leaves it out), a header
         row id,timestamp,action,user_id,user_name,object_type,object_id,
         extra,context, and extra and context as JSON text in one cell.

An event stored while the export runs may or may not be included; none is
written twice.`,
		Example: `  eventlog export --format jsonl -o events.jsonl
  eventlog export --since 2025-01-01T00:00:00Z --until 2026-01-01T00:00:00Z --format csv -o 2025.csv
  eventlog export --action SIGNED_UP --format jsonl | gzip > signups.jsonl.gz`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != formatJSONL && format != formatCSV {
				return usageErrorf("invalid --format %q: must be jsonl or csv", format)
			}
			if pageLen < 1 || pageLen > eventlog.MaxLimit {
				return usageErrorf("invalid --page-size %d: must be between 1 and %d", pageLen, eventlog.MaxLimit)
			}
			q, err := ff.query(cmd, e, pageLen)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := e.openStore(ctx, false)
			if err != nil {
				return err
			}
			defer st.Close()

			out := e.stdout
			var file *os.File
			if output != "" && output != "-" {
				if file, err = os.Create(output); err != nil {
					return fmt.Errorf("-o: %w", err)
				}
				defer file.Close()
				out = file
			}
			n, err := exportEvents(cmd, e, st, q, out, format, !noBOM)
			if err != nil {
				return err
			}
			if file != nil {
				if err := file.Sync(); err != nil {
					return fmt.Errorf("-o: %w", err)
				}
				if err := file.Close(); err != nil {
					return fmt.Errorf("-o: %w", err)
				}
				_, err = fmt.Fprintf(e.stderr, "Exported %d %s to %s.\n", n, plural(n, "event", "events"), output)
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	ff.register(f)
	f.StringVar(&format, "format", formatJSONL, "output `FORMAT`: jsonl or csv")
	f.StringVarP(&output, "output", "o", "", "write to `FILE` instead of stdout")
	f.BoolVar(&noBOM, "no-bom", false, "csv: leave out the UTF-8 byte-order mark")
	f.IntVar(&pageLen, "page-size", exportPage, "events read per query, 1 to 1000")
	return cmd
}

// exportEvents streams every event matching q to out, page by page, and
// returns how many it wrote.
func exportEvents(cmd *cobra.Command, e *env, st eventlog.Store, q eventlog.Query, out io.Writer, format string, bom bool) (int64, error) {
	ctx := cmd.Context()
	w := bufio.NewWriterSize(out, 256<<10)
	var cw *csv.Writer
	if format == formatCSV {
		if bom {
			w.WriteString(utf8BOM) //nolint:errcheck // a bufio error is sticky and reported by Flush
		}
		cw = csv.NewWriter(w)
		if err := cw.Write(csvHeader); err != nil {
			return 0, err
		}
	}
	bar := newProgress(e.stderr, -1, "exporting", false)
	defer bar.done()
	var n int64
	var line []byte
	for {
		page, err := st.Query(ctx, q)
		if err != nil {
			return n, err
		}
		for _, ev := range page.Events {
			if cw != nil {
				if err := cw.Write(csvRecord(ev)); err != nil {
					return n, err
				}
				continue
			}
			line = append(ev.AppendJSON(line[:0]), '\n')
			if _, err := w.Write(line); err != nil {
				return n, err
			}
		}
		n += int64(len(page.Events))
		bar.add(int64(len(page.Events)))
		if page.Next == nil {
			break
		}
		q.After = page.Next
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
	}
	return n, w.Flush()
}
