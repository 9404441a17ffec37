package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/auth"
)

func init() { addCommand(newTokenCmd) }

func newTokenCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens for 'eventlog serve'",
		Long: `Tokens authenticate requests to the HTTP API (Authorization: Bearer TOKEN).
Each has a scope: write may only ingest events, read may only query and
stream them, admin may do both. A token is shown once, when it is created;
only its SHA-256 is stored, in the table eventlog_tokens.

A running server notices created and revoked tokens within two seconds.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTokenCreateCmd(e), newTokenListCmd(e), newTokenRevokeCmd(e))
	return cmd
}

func newTokenCreateCmd(e *env) *cobra.Command {
	var name, scope string
	cmd := &cobra.Command{
		Use:     "create --name NAME --scope write|read|admin",
		Short:   "Create a token and print it alone on stdout (shown once)",
		Example: `  TOKEN=$(eventlog token create --name billing-service --scope write)`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usageErrorf("--name is required")
			}
			if err := auth.CheckName(name); err != nil {
				return usageErrorf("invalid --name: %s", trimInvalid(err))
			}
			sc, err := auth.ParseScope(scope)
			if err != nil {
				return usageErrorf("invalid --scope %q: must be write, read or admin", scope)
			}
			tokens, closeStore, err := openTokens(cmd, e)
			if err != nil {
				return err
			}
			defer closeStore()
			secret, err := tokens.Create(cmd.Context(), name, sc)
			if errors.Is(err, auth.ErrNameTaken) {
				return usageErrorf("a token named %q already exists; revoke it first or choose another --name", name)
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, secret)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "a `name` for the token, such as the service that uses it (required)")
	cmd.Flags().StringVar(&scope, "scope", "", "`scope`: write (ingest only), read (query and stream) or admin (both) (required)")
	return cmd
}

func newTokenListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List tokens: name, scope and creation time (never the token)",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			tokens, closeStore, err := openTokens(cmd, e)
			if err != nil {
				return err
			}
			defer closeStore()
			all, err := tokens.List(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSCOPE\tCREATED")
			for _, t := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Scope, t.CreatedAt.UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
}

func newTokenRevokeCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Delete the token called NAME; requests using it are refused",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tokens, closeStore, err := openTokens(cmd, e)
			if err != nil {
				return err
			}
			defer closeStore()
			err = tokens.Revoke(cmd.Context(), args[0])
			if errors.Is(err, eventlog.ErrNotFound) {
				return fmt.Errorf("no token is named %q (see 'eventlog token list')", args[0])
			}
			return err
		},
	}
}

// openTokens opens the store (a new SQLite file gets its schema) and the
// token table in it.
func openTokens(cmd *cobra.Command, e *env) (*auth.Tokens, func(), error) {
	st, err := e.openStore(cmd.Context(), false)
	if err != nil {
		return nil, nil, err
	}
	t, err := auth.New(st, nil)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return t, func() { st.Close() }, nil
}

// trimInvalid drops the ": invalid input" suffix of an auth error.
func trimInvalid(err error) string {
	s := err.Error()
	const suffix = ": " + "invalid input"
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)]
	}
	return s
}
