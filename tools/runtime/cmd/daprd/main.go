// Command daprd is the Dapr sidecar runtime built with the stable component
// set plus the few components DouVo's local profiles need that upstream marks
// as non-stable: SQLite name resolution, which keeps every hop on loopback
// without multicast, and NATS JetStream pub/sub, the embedded broker.
package main

import (
	"github.com/dapr/components-contrib/nameresolution/sqlite"
	"github.com/dapr/components-contrib/pubsub/jetstream"
	"github.com/dapr/dapr/cmd/daprd/app"
	nrloader "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsubloader "github.com/dapr/dapr/pkg/components/pubsub"
)

func main() {
	nrloader.DefaultRegistry.RegisterComponent(sqlite.NewResolver, "sqlite")
	pubsubloader.DefaultRegistry.RegisterComponent(jetstream.NewJetStream, "jetstream")
	app.Run()
}
