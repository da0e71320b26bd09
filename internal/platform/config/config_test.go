package config

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type testConfig struct {
	Server
	Sidecar Sidecar
	Limit   int `env:"TEST_LIMIT" envDefault:"3"`
}

func (c *testConfig) Validate() error {
	if c.Limit < 0 {
		return errors.New("TEST_LIMIT must not be negative")
	}
	return nil
}

func TestLoadAppliesDefaultsAndEnvironment(t *testing.T) {
	t.Setenv("APP_PORT", "9999")
	t.Setenv("DAPR_API_TOKEN", "sekrit")
	cfg, err := Load[testConfig]()
	require.NoError(t, err)
	assert.Equal(t, 9999, cfg.Port)
	assert.Equal(t, "127.0.0.1:9999", cfg.Addr())
	assert.Equal(t, 10*time.Second, cfg.RequestTimeout)
	assert.Equal(t, 3500, cfg.Sidecar.HTTPPort)
	assert.Equal(t, 3, cfg.Limit)
}

func TestLoadValidates(t *testing.T) {
	t.Setenv("TEST_LIMIT", "-1")
	_, err := Load[testConfig]()
	assert.ErrorContains(t, err, "must not be negative")

	t.Setenv("TEST_LIMIT", "many")
	_, err = Load[testConfig]()
	assert.Error(t, err)
}

func TestLogAttrsMasksSecrets(t *testing.T) {
	t.Setenv("DAPR_API_TOKEN", "sekrit")
	cfg, err := Load[testConfig]()
	require.NoError(t, err)
	out := fmt.Sprint(LogAttrs(cfg))
	assert.NotContains(t, out, "sekrit")
	assert.Contains(t, out, "APIToken=***")
	assert.Contains(t, out, "AppAPIToken=", "unset secrets are shown empty")
}
