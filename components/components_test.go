package components

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

type component struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Type     string `yaml:"type"`
		Metadata []struct {
			Name         string `yaml:"name"`
			Value        any    `yaml:"value"`
			SecretKeyRef *struct {
				Name string `yaml:"name"`
			} `yaml:"secretKeyRef"`
		} `yaml:"metadata"`
	} `yaml:"spec"`
	Scopes []string `yaml:"scopes"`
}

// profiles lists the folders that hold a profile: they name their servers.
func profiles(t *testing.T) []string {
	t.Helper()
	matches, err := filepath.Glob("*/servers")
	require.NoError(t, err)
	require.NotEmpty(t, matches)
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		out = append(out, filepath.Dir(m))
	}
	return out
}

func load(t *testing.T, dir string) map[string]component {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	out := map[string]component{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var c component
			err := dec.Decode(&c)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, f)
			if c.Kind == "Component" {
				require.NotContains(t, out, c.Metadata.Name, "%s defines %s twice", dir, c.Metadata.Name)
				out[c.Metadata.Name] = c
			}
		}
	}
	return out
}

func names(m map[string]component) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestProfilesDefineTheSameComponents(t *testing.T) {
	t.Parallel()
	ps := profiles(t)
	want := names(load(t, "local"))
	for _, p := range ps {
		assert.Equal(t, want, names(load(t, p)), "profile %s", p)
	}
}

func TestStateStoresBelongToOneApp(t *testing.T) {
	t.Parallel()
	for _, p := range profiles(t) {
		for name, c := range load(t, p) {
			if !strings.HasPrefix(c.Spec.Type, "state.") {
				continue
			}
			require.Len(t, c.Scopes, 1, "%s/%s must be scoped to its owner alone", p, name)
			assert.Equal(t, c.Scopes[0]+"store", name, "%s/%s is named after its owner", p, name)
		}
	}
}

func TestSecretsAreReferencedNeverWritten(t *testing.T) {
	t.Parallel()
	for _, p := range append(profiles(t), "common") {
		for name, c := range load(t, p) {
			for _, md := range c.Spec.Metadata {
				lower := strings.ToLower(md.Name)
				secretish := strings.Contains(lower, "password") || strings.Contains(lower, "token") ||
					(lower == "connectionstring" && !strings.HasPrefix(c.Spec.Type, "state.sqlite"))
				if secretish {
					assert.NotNil(t, md.SecretKeyRef, "%s/%s: %s must come from the secret store", p, name, md.Name)
					assert.Nil(t, md.Value, "%s/%s: %s has a value written in YAML", p, name, md.Name)
				}
			}
		}
	}
}

func TestKubernetesDefinesTheSameComponents(t *testing.T) {
	t.Parallel()
	want := load(t, "local")
	for name, c := range load(t, "common") {
		// Kubernetes brings its own secret store.
		if !strings.HasPrefix(c.Spec.Type, "secretstores.") {
			want[name] = c
		}
	}
	got := map[string]component{}
	raw, err := os.ReadFile("../deploy/k8s/components.yaml")
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var c component
		err := dec.Decode(&c)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if c.Kind == "Component" {
			got[c.Metadata.Name] = c
		}
	}
	assert.Equal(t, names(want), names(got))
	for name, c := range got {
		assert.Equal(t, want[name].Scopes, c.Scopes, "scopes of %s", name)
	}
}

func TestKubernetesComponentsAreGeneratedFromTheRedisProfile(t *testing.T) {
	t.Parallel()
	want, err := exec.Command("bash", "../deploy/k8s/generate.sh").Output()
	require.NoError(t, err)
	got, err := os.ReadFile("../deploy/k8s/components.yaml")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got),
		"run: deploy/k8s/generate.sh > deploy/k8s/components.yaml")
}

func TestAppConfigurationsAreGeneratedFromTheCallers(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	require.NoError(t, exec.Command("bash", "config/generate.sh", out).Run())
	generated, err := filepath.Glob(filepath.Join(out, "components/config/*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, generated)
	files := []string{"deploy/k8s/configuration.yaml"}
	for _, g := range generated {
		files = append(files, "components/config/"+filepath.Base(g))
	}
	for _, f := range files {
		want, err := os.ReadFile(filepath.Join(out, f))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join("..", f))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "run components/config/generate.sh to update %s", f)
	}
}

func TestEveryAppOfTheRunFileLoadsItsOwnConfiguration(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../dapr.yaml")
	require.NoError(t, err)
	var run struct {
		Apps []struct {
			AppID          string `yaml:"appID"`
			ConfigFilePath string `yaml:"configFilePath"`
		} `yaml:"apps"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &run))
	require.NotEmpty(t, run.Apps)
	for _, a := range run.Apps {
		assert.Equal(t, "./components/config/"+a.AppID+".yaml", a.ConfigFilePath, "app %s", a.AppID)
		_, err := os.Stat(filepath.Join("..", a.ConfigFilePath))
		assert.NoError(t, err, "app %s", a.AppID)
	}
}
