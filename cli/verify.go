package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/eventlog/eventlog"
)

func init() { addCommand(newVerifyCmd) }

func newVerifyCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check the tamper-evident hash chain of every stored event",
		Long: `verify walks the hash chain that the store keeps over every event, in
write order, and checks that each event is exactly as it was written.

On success it prints how many events it checked and the head hash:
  verified 1204 events; head 3f1c...
Record the head somewhere the database's administrators cannot write (a
ticket, a signed email, another system): a later head that does not
continue from it means history was rewritten. Pruning and forget-user keep
the chain verifying and leave the head as it was.

On failure it prints one line naming the first bad event, by seq (write
order) and id, and why: modified (its content or user no longer match its
hash), deleted (the event before it is gone and no prune recorded it) or
inserted out of band (written without eventlog, so it has no hash), and
exits with status 1.

On a terminal a progress bar is shown on stderr.`,
		Example: `  eventlog verify
  eventlog --db postgres://... verify`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := e.openStore(ctx, false)
			if err != nil {
				return err
			}
			defer st.Close()
			cr, ok := st.(eventlog.ChainReader)
			if !ok {
				return fmt.Errorf("this store keeps no hash chain: %w", eventlog.ErrNotSupported)
			}
			bar := newProgress(e.stderr, -1, "verifying", false)
			res, err := eventlog.Verify(ctx, cr, bar.set)
			bar.done()
			if err != nil {
				return err
			}
			if !res.OK {
				return fmt.Errorf("%s", res)
			}
			_, err = fmt.Fprintln(e.stdout, res)
			return err
		},
	}
}
