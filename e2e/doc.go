// Package e2e holds DouVo's end-to-end tests. TestMain starts a complete mesh
// (real daprd sidecars, placement, scheduler and the profile's stores, see
// internal/testmesh) and the tests speak the public API to the gateway, the
// way a client does, or the internal APIs to a service through a sidecar.
package e2e
