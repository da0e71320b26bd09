//go:build tools

// Package cli pins the Dapr command-line interface that DouVo's Makefile
// builds into its tool cache.
package cli

import _ "github.com/dapr/cli"
