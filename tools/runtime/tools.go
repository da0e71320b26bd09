//go:build tools

// Package runtime pins the Dapr control-plane binaries (placement, scheduler
// and sentry) that DouVo's Makefile builds beside its own daprd.
package runtime

import (
	_ "github.com/dapr/dapr/cmd/placement"
	_ "github.com/dapr/dapr/cmd/scheduler"
	_ "github.com/dapr/dapr/cmd/sentry"
)
