// Package components holds no code: its folders are the Dapr component YAML
// of every profile. Its test checks that the profiles agree with each other
// and keep to the project's rules (stores scoped to their owner, secrets by
// reference only).
package components
