// Package cli is the eventlog command: one file per subcommand, each a
// constructor func(*env) *cobra.Command registered in root.go. Run takes
// the arguments and the standard streams, so the whole command is tested
// in-process; cmd/eventlog/main.go only wires it to the process.
//
// The package may import every other eventlog package (it opens stores
// through dial); nothing imports it except cmd/eventlog. Output formats
// printed here (canonical event JSON, the events JSON envelope, CSV
// columns) are a public interface: scripts parse them.
package cli
