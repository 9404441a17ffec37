package cli

import (
	"encoding/json"

	"github.com/spf13/cobra"
)

func newStatsCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Print pinax-eventlog's four user figures as JSON",
		Long: `stats prints one JSON object with four figures as of now:

  used_seven     distinct users with an event in the last 7 days
  used_thirty    distinct users with an event in the last 30 days
  active_seven   those used_seven users whose first event is older than 7 days
  active_thirty  those used_thirty users whose first event is older than 30 days

They are served from rollup tables, so they stay fast on large logs.`,
		Example: `  eventlog stats
  eventlog stats --db postgres://postgres@localhost/app | jq .used_seven`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := e.openStore(ctx, false)
			if err != nil {
				return err
			}
			defer st.Close()
			s, err := st.Stats(ctx, e.now())
			if err != nil {
				return err
			}
			b, err := json.Marshal(s)
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(append(b, '\n'))
			return err
		},
	}
}
