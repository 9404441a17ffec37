package cli

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlog/eventlog"
)

func newLogCmd(e *env) *cobra.Command {
	var (
		userID, userName, object, extra, at, id string
		rc                                      eventlog.RequestContext
	)
	cmd := &cobra.Command{
		Use:   "log ACTION",
		Short: "Record one event and print it as stored",
		Long: `log records one event and prints it, as stored, as one line of canonical
JSON: {"id","timestamp","action","user","object","extra"[,"context"]}.

ACTION names what happened, by convention in ALL_CAPS. The event id is a
new UUIDv7 unless --id gives one; logging an id that is already stored
stores nothing and prints the stored event, so a retried command is
harmless. The timestamp is now unless --at gives one. Extra data is any
JSON value (default {}), at most 64 KiB.`,
		Example: `  eventlog log SIGNED_UP --user 42 --user-name alice
  eventlog log CREATED_WIDGET --user 42 --object widget:17 --extra '{"title":"Foo"}'
  eventlog log IMPORTED --at 2026-01-02T15:04:05Z --id 0193e6a4-5b7c-7d2e-9f10-1a2b3c4d5e6f`,
		Args: exactArgs("ACTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ev := eventlog.Event{ID: id, Action: args[0], Extra: json.RawMessage(extra)}
			if cmd.Flags().Changed("user") || cmd.Flags().Changed("user-name") {
				ev.User = &eventlog.User{ID: userID, Name: userName}
			}
			if cmd.Flags().Changed("object") {
				typ, oid, ok := strings.Cut(object, ":")
				if !ok || typ == "" || oid == "" {
					return usageErrorf("invalid --object %q: must be TYPE:ID, like widget:17", object)
				}
				ev.Object = &eventlog.Object{Type: typ, ID: oid}
			}
			if cmd.Flags().Changed("at") {
				t, err := time.Parse(time.RFC3339Nano, at)
				if err != nil {
					return usageErrorf("invalid --at %q: must be RFC 3339, like 2026-01-02T15:04:05Z", at)
				}
				ev.Timestamp = t
			}
			if !rc.IsZero() {
				ev.Context = &rc
			}
			if userName != "" && userID == "" {
				return usageErrorf("--user-name needs --user: a user is identified by id")
			}
			// Validate before opening the database, so a bad event
			// neither creates a file nor touches the store.
			now := e.now()
			if err := ev.Normalize(now); err != nil {
				return asUsage(err, "")
			}

			ctx := cmd.Context()
			st, err := e.openStore(ctx, false)
			if err != nil {
				return err
			}
			defer st.Close()
			l, err := eventlog.New(st, &eventlog.Config{Now: func() time.Time { return now }})
			if err != nil {
				return err
			}
			stored, err := l.LogEvent(ctx, ev)
			if cerr := l.Close(); err == nil && cerr != nil {
				return cerr
			}
			if err != nil {
				return asUsage(err, "")
			}
			_, err = e.stdout.Write(append(stored.AppendJSON(nil), '\n'))
			return err
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&userID, "user", "", "`ID` of the user who acted")
	f.StringVar(&userName, "user-name", "", "display `NAME` of the user (needs --user)")
	f.StringVar(&object, "object", "", "the object acted on, as `TYPE:ID`")
	f.StringVar(&extra, "extra", "", "extra data as a `JSON` value (default {})")
	f.StringVar(&at, "at", "", "when it happened, RFC 3339 `TIME` (default now)")
	f.StringVar(&id, "id", "", "event `UUID`, for idempotent retries (default a new UUIDv7)")
	f.StringVar(&rc.IP, "ip", "", "request context: client `IP` address")
	f.StringVar(&rc.UserAgent, "user-agent", "", "request context: `USER_AGENT`")
	f.StringVar(&rc.RequestID, "request-id", "", "request context: request `ID`")
	f.StringVar(&rc.TraceID, "trace-id", "", "request context: trace `ID`")
	f.StringVar(&rc.Method, "method", "", "request context: HTTP `METHOD`")
	f.StringVar(&rc.Path, "path", "", "request context: request `PATH`")
	return cmd
}
