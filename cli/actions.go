package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/eventlog/eventlog"
)

func newActionsCmd(e *env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "actions",
		Short: "List every action with its number of events",
		Long: `actions lists every action that has events, with how many, most frequent
first (ties in action order). Counts come from a rollup table, so this is
fast on large logs.

Formats:
  table  ACTION and COUNT columns for people
  json   {"actions":[{"action":"SIGNED_UP","count":12},...]}
  jsonl  one {"action":...,"count":...} object per line`,
		Example: `  eventlog actions
  eventlog actions --format json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case formatTable, formatJSON, formatJSONL:
			default:
				return usageErrorf("invalid --format %q: must be table, json or jsonl", format)
			}
			ctx := cmd.Context()
			st, err := e.openStore(ctx, false)
			if err != nil {
				return err
			}
			defer st.Close()
			list, err := st.Actions(ctx)
			if err != nil {
				return err
			}
			return writeActions(e, format, list)
		},
	}
	cmd.Flags().StringVar(&format, "format", formatTable, "output `FORMAT`: table, json or jsonl")
	return cmd
}

func writeActions(e *env, format string, list []eventlog.ActionCount) error {
	switch format {
	case formatJSON:
		if list == nil {
			list = []eventlog.ActionCount{}
		}
		b, err := json.Marshal(struct {
			Actions []eventlog.ActionCount `json:"actions"`
		}{list})
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(append(b, '\n'))
		return err
	case formatJSONL:
		var b []byte
		for _, a := range list {
			line, err := json.Marshal(a)
			if err != nil {
				return err
			}
			b = append(append(b, line...), '\n')
		}
		_, err := e.stdout.Write(b)
		return err
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(e.stdout, "No events.")
		return err
	}
	// Action left-aligned, count right-aligned, two spaces between.
	aw, cw := len("ACTION"), len("COUNT")
	for _, a := range list {
		aw = max(aw, utf8.RuneCountInString(a.Action))
		cw = max(cw, len(strconv.FormatInt(a.Count, 10)))
	}
	var b []byte
	row := func(action, count string) {
		b = append(b, action...)
		b = append(b, strings.Repeat(" ", aw-utf8.RuneCountInString(action)+2+cw-len(count))...)
		b = append(append(b, count...), '\n')
	}
	row("ACTION", "COUNT")
	for _, a := range list {
		row(cell(a.Action, 0), strconv.FormatInt(a.Count, 10))
	}
	_, err := e.stdout.Write(b)
	return err
}
