package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the eventlog version",
		Long: `version prints the module version eventlog was built from ("devel" for a
build from a source checkout) and the Go version that built it.`,
		Example: `  eventlog version`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(e.stdout, "eventlog %s (%s)\n", moduleVersion(), runtime.Version())
			return err
		},
	}
}

// moduleVersion is the main module's version as recorded by the Go
// toolchain: a tag such as v1.2.0 for `go install …@v1.2.0`, "devel" for
// builds from a checkout or tests.
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "devel"
	}
	return bi.Main.Version
}
