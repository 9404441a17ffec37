package cli

import (
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestHelp walks the whole command tree, including commands other files
// register: each explains itself, and --help succeeds on stdout.
func TestHelp(t *testing.T) {
	t.Parallel()
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		// Every command says what it does in a line; top-level commands
		// also explain themselves at length and, unless they only group
		// subcommands, show an example.
		if c.Short == "" {
			t.Errorf("command %q lacks Short", c.CommandPath())
		}
		if len(path) <= 1 && c.Long == "" {
			t.Errorf("command %q lacks Long", c.CommandPath())
		}
		if len(path) == 1 && !c.HasSubCommands() && c.Example == "" {
			t.Errorf("command %q lacks an Example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(newRootCmd(&env{}), nil)
	if len(paths) < 8 {
		t.Fatalf("found %d commands, want at least root and 7 subcommands", len(paths))
	}
	for _, path := range paths {
		for _, flag := range []string{"--help", "-h"} {
			args := append(append([]string(nil), path...), flag)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				t.Parallel()
				r := runCLI(t, nil, args...)
				if r.code != ExitOK || r.stderr != "" {
					t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
				}
				cmdPath := strings.TrimSpace("eventlog " + strings.Join(path, " "))
				for _, want := range []string{"Usage:\n  " + cmdPath, "--db URL"} {
					if !strings.Contains(r.stdout, want) {
						t.Errorf("help lacks %q:\n%s", want, r.stdout)
					}
				}
			})
		}
	}
}

func TestHelpCommand(t *testing.T) {
	t.Parallel()
	for _, path := range [][]string{{"events"}, {"log"}, {}} {
		r := runCLI(t, nil, append([]string{"help"}, path...)...)
		flagHelp := runCLI(t, nil, append(path, "--help")...)
		if r.code != ExitOK || r.stderr != "" || r.stdout != flagHelp.stdout {
			t.Errorf("help %s: exit %d, stderr %q; stdout differs from --help: %v",
				strings.Join(path, " "), r.code, r.stderr, r.stdout != flagHelp.stdout)
		}
	}
}

func TestBareCommandShowsHelp(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil)
	if r.code != ExitOK || r.stderr != "" || !strings.Contains(r.stdout, "Available Commands:") {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "version")
	if r.code != ExitOK || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	// Test binaries carry no module version, so it is "devel".
	if want := "eventlog devel (" + runtime.Version() + ")\n"; r.stdout != want {
		t.Errorf("version printed %q, want %q", r.stdout, want)
	}
}
