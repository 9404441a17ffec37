package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/eventlog/eventlog"
)

// Output formats of events and actions.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatJSONL = "jsonl"
	formatCSV   = "csv"
)

// csvHeader is the header row of --format csv; its order is part of the
// command's interface.
var csvHeader = []string{"id", "timestamp", "action", "user_id", "user_name", "object_type", "object_id", "extra", "context"}

// tableExtraWidth is how many characters of extra the table shows.
const tableExtraWidth = 48

func newEventsCmd(e *env) *cobra.Command {
	var (
		actions, wheres                 []string
		user, object, since, until, txt string
		cursor, format                  string
		limit                           int
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List events, newest first, with filters",
		Long: `events prints one page of events, newest first (timestamp, then id,
descending). Filters combine with AND; --action and --where may repeat.

TIME for --since and --until is RFC 3339 (2026-01-02T15:04:05Z) or an age
before now: a number and s, m, h, d or w (90s, 15m, 12h, 7d, 2w). The
range is since <= timestamp < until.

--where KEY=VALUE keeps events whose extra is an object whose top-level
KEY equals VALUE as JSON: status=200 matches the number 200,
status='"200"' the string "200", plan=pro the string "pro", and true,
false and null their JSON values.

Formats:
  table  aligned columns for people; extra is truncated
  jsonl  one canonical event per line
  json   {"events":[...],"next_cursor":"…"} (next_cursor is null on the last page)
  csv    header id,timestamp,action,user_id,user_name,object_type,object_id,extra,context

When more events match than --limit, the next page is fetched with
--cursor: json carries it as next_cursor, table prints it under the rows,
and jsonl and csv print it on stderr.`,
		Example: `  eventlog events
  eventlog events --since 7d --action SIGNED_UP --action SIGNED_IN
  eventlog events --user 42 --object widget:17 --format jsonl
  eventlog events --where plan=pro -q alice --limit 100 --format csv > events.csv`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case formatTable, formatJSON, formatJSONL, formatCSV:
			default:
				return usageErrorf("invalid --format %q: must be table, json, jsonl or csv", format)
			}
			now := e.now()
			q := eventlog.Query{Actions: actions, UserID: user, Text: txt, Limit: limit}
			if cmd.Flags().Changed("limit") && limit == 0 {
				return usageErrorf("invalid --limit: must be between 1 and %d", eventlog.MaxLimit)
			}
			if cmd.Flags().Changed("object") {
				typ, id, _ := strings.Cut(object, ":")
				if typ == "" {
					return usageErrorf("invalid --object %q: must be TYPE or TYPE:ID, like widget:17", object)
				}
				q.ObjectType, q.ObjectID = typ, id
			}
			var err error
			if cmd.Flags().Changed("since") {
				if q.Since, err = eventlog.ParseTime("since", since, now); err != nil {
					return asUsage(err, "--since")
				}
			}
			if cmd.Flags().Changed("until") {
				if q.Until, err = eventlog.ParseTime("until", until, now); err != nil {
					return asUsage(err, "--until")
				}
			}
			for _, s := range wheres {
				w, err := eventlog.ParseWhere(s)
				if err != nil {
					return asUsage(err, "--where")
				}
				q.Where = append(q.Where, w)
			}
			if cursor != "" {
				if q.After, err = eventlog.ParseCursor(cursor); err != nil {
					return asUsage(err, "--cursor")
				}
			}
			if err := q.Normalize(); err != nil {
				return asUsage(err, queryFlag(err))
			}

			ctx := cmd.Context()
			st, err := e.openStore(ctx, false)
			if err != nil {
				return err
			}
			defer st.Close()
			page, err := st.Query(ctx, q)
			if err != nil {
				return err
			}
			return writeEvents(e, format, page)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringArrayVar(&actions, "action", nil, "keep events with this `ACTION` (repeatable: any of them)")
	f.StringVar(&user, "user", "", "keep events of the user with this `ID`")
	f.StringVar(&object, "object", "", "keep events linked to `TYPE[:ID]`")
	f.StringVar(&since, "since", "", "keep events at or after `TIME` (RFC 3339 or an age like 7d)")
	f.StringVar(&until, "until", "", "keep events before `TIME` (RFC 3339 or an age like 12h)")
	f.StringVarP(&txt, "q", "q", "", "keep events containing `TEXT`, case-insensitively")
	f.StringArrayVar(&wheres, "where", nil, "keep events whose extra has `KEY=VALUE` (repeatable: all of them)")
	f.IntVar(&limit, "limit", eventlog.DefaultLimit, fmt.Sprintf("page size: at most `N` events, 1 to %d", eventlog.MaxLimit))
	f.StringVar(&cursor, "cursor", "", "continue after the page that returned this `CURSOR`")
	f.StringVar(&format, "format", formatTable, "output `FORMAT`: table, json, jsonl or csv")
	return cmd
}

// queryFlag names the flag behind a query validation error where it
// differs from an event's (an action is --action here, not ACTION).
func queryFlag(err error) string {
	var ve *eventlog.ValidationError
	if errors.As(err, &ve) && ve.Field == "action" {
		return "--action"
	}
	return ""
}

func writeEvents(e *env, format string, page eventlog.Page) error {
	var next string
	if page.Next != nil {
		next = page.Next.String()
	}
	switch format {
	case formatJSONL:
		var b []byte
		for _, ev := range page.Events {
			b = append(ev.AppendJSON(b), '\n')
		}
		if _, err := e.stdout.Write(b); err != nil {
			return err
		}
		return noteCursor(e.stderr, next)
	case formatJSON:
		b := []byte(`{"events":[`)
		for i, ev := range page.Events {
			if i > 0 {
				b = append(b, ',')
			}
			b = ev.AppendJSON(b)
		}
		b = append(b, `],"next_cursor":`...)
		if next == "" {
			b = append(b, "null"...)
		} else {
			c, _ := json.Marshal(next)
			b = append(b, c...)
		}
		b = append(b, "}\n"...)
		_, err := e.stdout.Write(b)
		return err
	case formatCSV:
		w := csv.NewWriter(e.stdout)
		if err := w.Write(csvHeader); err != nil {
			return err
		}
		for _, ev := range page.Events {
			if err := w.Write(csvRecord(ev)); err != nil {
				return err
			}
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		return noteCursor(e.stderr, next)
	}
	return writeEventTable(e.stdout, page.Events, next)
}

func noteCursor(w io.Writer, next string) error {
	if next == "" {
		return nil
	}
	_, err := fmt.Fprintf(w, "more events: --cursor %s\n", next)
	return err
}

func csvRecord(ev eventlog.Event) []string {
	rec := make([]string, len(csvHeader))
	rec[0] = ev.ID
	rec[1] = eventlog.FormatTime(ev.Timestamp)
	rec[2] = ev.Action
	if ev.User != nil {
		rec[3], rec[4] = ev.User.ID, ev.User.Name
	}
	if ev.Object != nil {
		rec[5], rec[6] = ev.Object.Type, ev.Object.ID
	}
	rec[7] = string(ev.Extra)
	if rec[7] == "" {
		rec[7] = "{}"
	}
	if !ev.Context.IsZero() {
		c, _ := json.Marshal(ev.Context)
		rec[8] = string(c)
	}
	return rec
}

// writeEventTable prints events for people: one aligned row each, extra
// cut to tableExtraWidth characters, control characters made visible so a
// hostile value cannot break the layout.
func writeEventTable(w io.Writer, events []eventlog.Event, next string) error {
	if len(events) == 0 {
		_, err := fmt.Fprintln(w, "No events.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIMESTAMP\tACTION\tUSER\tOBJECT\tEXTRA\tID")
	for _, ev := range events {
		usr, obj := "-", "-"
		if ev.User != nil {
			usr = ev.User.ID
			if ev.User.Name != "" {
				usr += " (" + ev.User.Name + ")"
			}
		}
		if ev.Object != nil {
			obj = ev.Object.Type + ":" + ev.Object.ID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			ev.Timestamp.UTC().Format("2006-01-02 15:04:05"), cell(ev.Action, 0), cell(usr, 40),
			cell(obj, 40), cell(string(ev.Extra), tableExtraWidth), ev.ID)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return noteCursor(w, next)
}

// cell makes s safe for one table cell: control characters (tabs,
// newlines) become spaces and, when max > 0, s is cut to max characters
// ending in "…".
func cell(s string, max int) string {
	var b bytes.Buffer
	n := 0
	for i, r := range s {
		if max > 0 && n == max-1 && utf8.RuneCountInString(s[i:]) > 1 {
			b.WriteRune('…')
			break
		}
		if unicode.IsControl(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
