// Command daprd is the Dapr sidecar runtime built with the stable component
// set plus the few components DouVo's local profiles need that upstream marks
// as non-stable: SQLite name resolution, which keeps every hop on loopback
// without multicast, and NATS JetStream pub/sub, the embedded broker.
//
// When the sidecar advertises a loopback address (DAPR_HOST_IP=127.0.0.1, as
// `make run` and the test harness set it), its internal gRPC API and its
// metrics also listen on loopback only, unless the command line says
// otherwise: upstream binds them to every interface, and the Dapr CLI's run
// file cannot pass those two flags.
//
// Before the runtime starts, it switches the SQLite databases of its
// state.sqlite components to WAL mode, so that several instances of one app
// can open a shared database at once (see prepareSQLite).
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/dapr/components-contrib/nameresolution/sqlite"
	"github.com/dapr/components-contrib/pubsub/jetstream"
	"github.com/dapr/dapr/cmd/daprd/app"
	nrloader "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsubloader "github.com/dapr/dapr/pkg/components/pubsub"
)

func main() {
	nrloader.DefaultRegistry.RegisterComponent(sqlite.NewResolver, "sqlite")
	pubsubloader.DefaultRegistry.RegisterComponent(jetstream.NewJetStream, "jetstream")
	if os.Getenv("DAPR_HOST_IP") == "127.0.0.1" {
		os.Args = withDefaults(os.Args,
			"--dapr-internal-grpc-listen-address", "127.0.0.1",
			"--metrics-listen-address", "127.0.0.1")
	}
	if err := prepareSQLite(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "daprd:", err)
		os.Exit(1)
	}
	app.Run()
}

// withDefaults appends each flag/value pair of defaults to args unless args
// already set that flag.
func withDefaults(args []string, defaults ...string) []string {
	out := slices.Clone(args)
	for i := 0; i+1 < len(defaults); i += 2 {
		flag := defaults[i]
		set := slices.ContainsFunc(args, func(a string) bool {
			return a == flag || strings.HasPrefix(a, flag+"=")
		})
		if !set {
			out = append(out, flag, defaults[i+1])
		}
	}
	return out
}
