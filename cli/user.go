package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/admin"
)

func init() { addCommand(newUserCmd) }

func newUserCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Create, list and delete the admin web UI's users",
		Long: `Users log in to the admin web UI that 'eventlog serve' mounts at /admin/.
They are kept in the table eventlog_admins with argon2id password hashes.

The password is read from a prompt (without echo) or, with
--password-stdin, from the first line of standard input. Changing a
password or deleting a user ends that user's sessions.

When 'eventlog serve' starts with no user at all, it creates 'admin' with a
random password and prints it once.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newUserCreateCmd(e), newUserPasswdCmd(e), newUserDeleteCmd(e), newUserListCmd(e))
	return cmd
}

func newUserCreateCmd(e *env) *cobra.Command {
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "create NAME [--password-stdin]",
		Short: "Create an admin user",
		Example: `  eventlog user create alice
  printf '%s\n' "$PASSWORD" | eventlog user create alice --password-stdin`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := admin.ValidateName(args[0]); err != nil {
				return usageErrorf("invalid NAME: %s", trimInvalid(err))
			}
			pw, err := readPassword(e, fromStdin)
			if err != nil {
				return err
			}
			return withAccounts(cmd, e, func(a *admin.Accounts) error {
				err := a.CreateUser(cmd.Context(), args[0], pw)
				if errors.Is(err, admin.ErrUserExists) {
					return usageErrorf("a user named %q already exists; change the password with 'eventlog user passwd %s'", args[0], args[0])
				}
				if errors.Is(err, eventlog.ErrInvalid) {
					return usageErrorf("%s", trimInvalid(err))
				}
				if err == nil {
					fmt.Fprintf(e.stderr, "created admin user %s\n", args[0])
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

func newUserPasswdCmd(e *env) *cobra.Command {
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "passwd NAME [--password-stdin]",
		Short: "Change an admin user's password (ends their sessions)",
		Long: `passwd sets a new password for an admin user, read like create's. The
user's open sessions end: they must log in again.`,
		Example: `  eventlog user passwd admin
  printf '%s\n' "$NEW_PASSWORD" | eventlog user passwd admin --password-stdin`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(e, fromStdin)
			if err != nil {
				return err
			}
			return withAccounts(cmd, e, func(a *admin.Accounts) error {
				err := a.SetPassword(cmd.Context(), args[0], pw)
				if errors.Is(err, admin.ErrUnknownUser) {
					return fmt.Errorf("no admin user is named %q (see 'eventlog user list')", args[0])
				}
				if errors.Is(err, eventlog.ErrInvalid) {
					return usageErrorf("%s", trimInvalid(err))
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

func newUserDeleteCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an admin user (ends their sessions)",
		Long: `delete removes an admin user; their open sessions end at once. Events
are untouched: admin users are not the users events are about.`,
		Example: `  eventlog user delete alice`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAccounts(cmd, e, func(a *admin.Accounts) error {
				err := a.DeleteUser(cmd.Context(), args[0])
				if errors.Is(err, admin.ErrUnknownUser) {
					return fmt.Errorf("no admin user is named %q (see 'eventlog user list')", args[0])
				}
				return err
			})
		},
	}
}

func newUserListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List admin users and when they were created",
		Long:  `list prints each admin user's name and creation time (never a password).`,
		Example: `  eventlog user list
  eventlog --db postgres://postgres@localhost/app user list`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAccounts(cmd, e, func(a *admin.Accounts) error {
				users, err := a.Users(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tCREATED")
				for _, u := range users {
					fmt.Fprintf(tw, "%s\t%s\n", u.Name, u.CreatedAt.UTC().Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
}

// withAccounts opens the store (a new SQLite file gets its schema) and
// runs fn on its admin accounts.
func withAccounts(cmd *cobra.Command, e *env, fn func(*admin.Accounts) error) error {
	st, err := e.openStore(cmd.Context(), false)
	if err != nil {
		return err
	}
	defer st.Close()
	sq, ok := st.(eventlog.SQLStore)
	if !ok {
		return fmt.Errorf("this store keeps no admin users: %w", eventlog.ErrNotSupported)
	}
	a, err := admin.NewAccounts(sq)
	if err != nil {
		return err
	}
	return fn(a)
}

// readPassword reads the first line of stdin with --password-stdin, or
// else prompts twice on the terminal without echo.
func readPassword(e *env, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", usageErrorf("--password-stdin: no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageErrorf("standard input is not a terminal: pass the password with --password-stdin")
	}
	fmt.Fprint(e.stderr, "Password: ")
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	fmt.Fprint(e.stderr, "Repeat password: ")
	again, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if string(pw) != string(again) {
		return "", usageErrorf("the passwords differ")
	}
	return string(pw), nil
}

// newAdminHandler builds the admin web UI that serve mounts at /admin/,
// with its own login. When no admin user exists it creates "admin" with
// a random password and prints it once on stderr. A store without SQL
// tables has no admin users, so it gets no admin (nil).
func newAdminHandler(ctx context.Context, e *env, store eventlog.Store, logger *eventlog.Logger, log *slog.Logger) (http.Handler, error) {
	sq, ok := store.(eventlog.SQLStore)
	if !ok {
		log.Warn("the admin web UI is disabled: this store keeps no admin users")
		return nil, nil
	}
	accounts, err := admin.NewAccounts(sq)
	if err != nil {
		return nil, err
	}
	pw, err := accounts.EnsureAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if pw != "" {
		fmt.Fprintf(e.stderr, "\nCreated the admin web UI user \"admin\" with password:\n\n    %s\n\nIt is shown only this once; change it with 'eventlog user passwd admin'.\n\n", pw)
	}
	return admin.New(&admin.Config{Store: store, Logger: logger, Accounts: accounts, BasePath: "/admin/", Now: e.now, ErrorLog: log})
}
