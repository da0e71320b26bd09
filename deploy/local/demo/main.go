// Command demo seeds a running DouVo (`make run`) with a few users and
// short videos through its public API, so that the feed is alive at first
// look. Run it with `make demo`; it is safe to run again.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/douvo/douvo/internal/apiclient"
	"github.com/douvo/douvo/internal/demo"
)

func main() {
	gateway := flag.String("gateway", "http://localhost:8080", "base URL of the DouVo gateway")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logf := func(format string, args ...any) { fmt.Printf("    "+format+"\n", args...) }
	fmt.Printf("==> Seeding %s\n", *gateway)
	if err := demo.Seed(ctx, apiclient.New(*gateway), logf); err != nil {
		fmt.Fprintln(os.Stderr, err)
		fmt.Fprintln(os.Stderr, "Is DouVo running? Start it with: make run")
		os.Exit(1)
	}
	fmt.Printf("==> Done. The feed: curl '%s/douyin/feed/'\n", *gateway)
	fmt.Printf("    Sign in as ada, grace, linus or margaret with the password %q.\n", demo.Password)
}
