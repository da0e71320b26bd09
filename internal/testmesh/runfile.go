package testmesh

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// runFile is the part of the Dapr CLI's multi-app run file the mesh uses.
type runFile struct {
	Common runApp   `yaml:"common"`
	Apps   []runApp `yaml:"apps"`
}

// runApp is one app of the run file, or the common section.
type runApp struct {
	AppID          string            `yaml:"appID"`
	AppPort        int               `yaml:"appPort"`
	Command        []string          `yaml:"command"`
	Env            map[string]string `yaml:"env"`
	MaxBodySize    string            `yaml:"maxBodySize"`
	ReadBufferSize string            `yaml:"readBufferSize"`
	ConfigFilePath string            `yaml:"configFilePath"`
}

// readRunFile parses dapr.yaml at root and folds the common section into
// every app.
func readRunFile(root string) ([]runApp, error) {
	raw, err := os.ReadFile(filepath.Join(root, "dapr.yaml"))
	if err != nil {
		return nil, fmt.Errorf("read run file: %w", err)
	}
	var rf runFile
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		return nil, fmt.Errorf("parse run file: %w", err)
	}
	apps := make([]runApp, 0, len(rf.Apps))
	for _, a := range rf.Apps {
		if len(a.Command) == 0 || a.AppID == "" {
			return nil, fmt.Errorf("run file: app %q has no id or command", a.AppID)
		}
		env := make(map[string]string, len(rf.Common.Env)+len(a.Env))
		for k, v := range rf.Common.Env {
			env[k] = v
		}
		for k, v := range a.Env {
			env[k] = v
		}
		a.Env = env
		a.MaxBodySize = firstNonEmpty(a.MaxBodySize, rf.Common.MaxBodySize)
		a.ReadBufferSize = firstNonEmpty(a.ReadBufferSize, rf.Common.ReadBufferSize)
		a.ConfigFilePath = firstNonEmpty(a.ConfigFilePath, rf.Common.ConfigFilePath)
		if a.ConfigFilePath == "" {
			return nil, fmt.Errorf("run file: app %q has no configFilePath", a.AppID)
		}
		apps = append(apps, a)
	}
	return apps, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
