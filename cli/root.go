package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/dial"
)

// Exit codes returned by Run.
const (
	ExitOK      = 0 // success, including --help
	ExitRuntime = 1 // the command was well formed but failed (database unreachable, ...)
	ExitUsage   = 2 // bad flag, bad value, missing argument, invalid event: nothing was done
)

// commands builds every subcommand of eventlog (help lists them
// alphabetically).
//
// To add a command, write cli/NAME.go with a constructor
//
//	func newNameCmd(e *env) *cobra.Command
//
// that reads its streams, store and clock from e (e.stdout,
// e.openStore(ctx, false), e.now()), returns usage problems with
// usageErrorf or asUsage (exit 2) and anything else as a plain error
// (exit 1), and
// register it with one line in that file:
//
//	func init() { addCommand(newNameCmd) }
//
// so root.go need not change.
var commands = []func(*env) *cobra.Command{
	newMigrateCmd,
	newLogCmd,
	newEventsCmd,
	newActionsCmd,
	newStatsCmd,
	newForgetUserCmd,
	newVersionCmd,
}

// addCommand registers a subcommand constructor; call it from an init
// function in the command's own file.
func addCommand(c func(*env) *cobra.Command) { commands = append(commands, c) }

// env is what every command gets: the injected streams, the database URL
// resolved from --db or EVENTLOG_DB, and the clock.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// now is the clock for default timestamps, relative ages and stats.
	now func() time.Time

	// db is the global --db flag; databaseURL resolves it.
	db *pflag.Flag
}

// databaseURL is --db when given, else EVENTLOG_DB when set, else
// dial.DefaultURL.
func (e *env) databaseURL() string {
	if e.db != nil && e.db.Changed {
		return e.db.Value.String()
	}
	if v := e.getenv("EVENTLOG_DB"); v != "" {
		return v
	}
	return dial.DefaultURL
}

// openStore opens the store named by --db. With migrate, pending schema
// migrations are applied; without it an outdated PostgreSQL or MySQL
// schema is an error telling the user to run `eventlog migrate`.
func (e *env) openStore(ctx context.Context, migrate bool) (eventlog.Store, error) {
	url := e.databaseURL()
	if url == "" {
		return nil, usageErrorf("--db must not be empty")
	}
	return dial.Open(ctx, url, dial.Options{Migrate: migrate})
}

// Run executes the eventlog command with args (without the program name)
// and returns the process exit code: 0 on success, 1 when the command
// failed at run time, 2 on a usage error. Errors are printed as one line on
// stderr; nothing panics out of Run.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, args, &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now})
}

func run(ctx context.Context, args []string, e *env) (code int) {
	root := newRootCmd(e)
	root.SetArgs(args)
	defer func() {
		// A bug in a command must still end in one line, not a stack trace.
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "eventlog: internal error: %v\n", r)
			code = ExitRuntime
		}
	}()
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	if cmd == nil {
		cmd = root
	}
	var ue *usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintf(e.stderr, "%s: %s\n", cmd.CommandPath(), oneLine(err.Error()))
		fmt.Fprintf(e.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return ExitUsage
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		fmt.Fprintf(e.stderr, "%s: interrupted\n", cmd.CommandPath())
		return ExitRuntime
	}
	fmt.Fprintf(e.stderr, "%s: %s\n", cmd.CommandPath(), oneLine(err.Error()))
	return ExitRuntime
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "eventlog",
		Short: "Record application events and query them",
		Long: `eventlog records what happens in an application — who did what to which
object, with any JSON as extra data — and lets you query, count and export
the events later.

The database is chosen with --db or the EVENTLOG_DB environment variable:
  sqlite:PATH                        an embedded SQLite file (the default, sqlite:eventlog.db)
  postgres://user:pass@host/db       PostgreSQL
  mysql://user:pass@host:3306/db     MySQL or MariaDB

Exit status: 0 on success, 1 when the command failed (for example the
database is unreachable), 2 on a usage error (nothing was done).`,
		Example: `  eventlog migrate
  eventlog log SIGNED_UP --user 42 --user-name alice --extra '{"plan":"pro"}'
  eventlog events --since 7d --action SIGNED_UP
  EVENTLOG_DB=postgres://postgres@localhost/app eventlog stats`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// A bare "eventlog" shows help; "eventlog nosuch" is a usage error
		// rather than cobra's multi-line suggestion dump.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.PersistentFlags().String("db", dial.DefaultURL, "database `URL`: sqlite:PATH, postgres://… or mysql://… (env EVENTLOG_DB)")
	e.db = root.PersistentFlags().Lookup("db")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError(err) })
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetHelpCommand(newHelpCmd(root))
	for _, c := range commands {
		root.AddCommand(c(e))
	}
	return root
}

// newHelpCmd replaces cobra's help command, which shows the root help for
// an unknown topic, with one that reports it as a usage error.
func newHelpCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:     "help [COMMAND]...",
		Short:   "Show help for any command",
		Long:    "help shows the help of a command, like COMMAND --help.",
		Example: "  eventlog help events\n  eventlog help token create",
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || target == nil || len(rest) > 0 {
				return usageErrorf("unknown help topic %q", strings.Join(args, " "))
			}
			target.InitDefaultHelpFlag() // so the help lists -h, as with --help
			return target.Help()
		},
	}
}

// usageError is a mistake in how the command was called: exit 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// isCobraUsage recognises the few usage errors cobra builds itself, as
// plain errors, before any of our code runs.
func isCobraUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command ") || strings.HasPrefix(s, "unknown flag") ||
		strings.HasPrefix(s, "unknown shorthand flag") || strings.HasPrefix(s, "required flag")
}

// flagError rewrites pflag's parse errors as one readable usage line that
// names the flag.
func flagError(err error) error {
	var iv *pflag.InvalidValueError
	if errors.As(err, &iv) {
		why := iv.Unwrap().Error()
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			why = "must be a whole number"
		}
		return usageErrorf("invalid --%s %q: %s", iv.GetFlag().Name, iv.GetValue(), why)
	}
	return &usageError{msg: err.Error()}
}

// fieldFlags names the flag behind each field of an eventlog.ValidationError,
// so an invalid event or query is reported in the terms the user typed.
var fieldFlags = map[string]string{
	"action":             "ACTION",
	"id":                 "--id",
	"timestamp":          "--at",
	"user":               "--user",
	"user.id":            "--user",
	"user.name":          "--user-name",
	"object":             "--object",
	"object.type":        "--object",
	"object.id":          "--object",
	"object_type":        "--object",
	"object_id":          "--object",
	"extra":              "--extra",
	"context.ip":         "--ip",
	"context.user_agent": "--user-agent",
	"context.request_id": "--request-id",
	"context.trace_id":   "--trace-id",
	"context.method":     "--method",
	"context.path":       "--path",
	"limit":              "--limit",
	"cursor":             "--cursor",
	"since":              "--since",
	"until":              "--until",
	"where":              "--where",
	"q":                  "-q",
}

// asUsage turns an eventlog.ValidationError into a usage error naming the
// flag (overriding the field name with flag when it is not empty) and
// returns any other error unchanged.
func asUsage(err error, flag string) error {
	var ve *eventlog.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	if flag == "" {
		flag = fieldFlags[ve.Field]
	}
	if flag == "" {
		flag = ve.Field
	}
	return usageErrorf("invalid %s: %s", flag, ve.Message)
}

// oneLine keeps a multi-line error (some drivers produce them) on the one
// line the user is promised.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r\n", "; ")
	return strings.ReplaceAll(s, "\n", "; ")
}

// exactArgs is cobra.ExactArgs with a usage error that names what is
// missing.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usageErrorf("missing %s", names[len(args)])
		case len(args) > len(names):
			return usageErrorf("unexpected argument %q", args[len(names)])
		}
		return nil
	}
}
