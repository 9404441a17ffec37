package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newForgetUserCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "forget-user ID",
		Short: "Remove a user's id and name from all their events",
		Long: `forget-user erases the user with this id from every event they acted in:
the user id and name are removed and the events are kept, now anonymous
(pinax-eventlog's on_delete=SET_NULL, and the erasure a user may ask for).
It prints how many events changed; running it again changes none.

Extra data and request context are kept as they are; if they hold
personal data, redact them separately.`,
		Example: `  eventlog forget-user 42`,
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if id == "" {
				return usageErrorf("invalid ID: must not be empty")
			}
			ctx := cmd.Context()
			st, err := e.openStore(ctx, false)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := st.ForgetUser(ctx, id)
			if err != nil {
				return asUsage(err, "ID")
			}
			_, err = fmt.Fprintf(e.stdout, "Forgot user %s in %d %s.\n", quoteIfNeeded(id), n, plural(n, "event", "events"))
			return err
		},
	}
}

// quoteIfNeeded prints an id as typed unless it has spaces or unusual
// characters, which are quoted so the output stays unambiguous.
func quoteIfNeeded(s string) string {
	for _, r := range s {
		if r <= ' ' || r == '"' || r == '\\' || r > 0x7e {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}
