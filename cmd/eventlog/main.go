// Command eventlog records application events and queries them; see
// package cli for the commands and `eventlog --help` for their use.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/eventlog/eventlog/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
