package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/douvo/douvo/internal/contract"
)

// loadSpec loads a service's OpenAPI document from the repository.
func loadSpec(t *testing.T, rel string) *contract.Spec {
	t.Helper()
	spec, err := contract.Load(context.Background(), filepath.Join("..", rel))
	require.NoError(t, err)
	return spec
}

// invoke calls a service's internal API through the gateway's sidecar, as
// any other service would, and checks the exchange against spec.
func invoke(t *testing.T, spec *contract.Spec, appID, method, path string, body any) reply {
	t.Helper()
	var raw []byte
	if body != nil {
		var err error
		raw, err = json.Marshal(body)
		require.NoError(t, err)
	}
	gw := mesh.App("gateway")
	url := fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke/%s/method%s", gw.DaprHTTPPort, appID, path)
	req, err := http.NewRequest(method, url, bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("dapr-api-token", mesh.DaprAPIToken())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	err = spec.Check(context.Background(), contract.Exchange{
		Method: method, Path: path, ContentType: req.Header.Get("Content-Type"), Body: raw,
		Status: resp.StatusCode, RespHeader: resp.Header, RespBody: respBody,
	})
	require.NoError(t, err, "%s %s answered %d: %s", method, path, resp.StatusCode, respBody)

	req.Body = io.NopCloser(bytes.NewReader(respBody))
	dec := json.NewDecoder(bytes.NewReader(respBody))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return reply{HTTPStatus: resp.StatusCode, Body: m, Raw: respBody}
}

func TestUserServiceContract(t *testing.T) {
	spec := loadSpec(t, "services/user/api.yaml")
	name := uniqueName("contract")
	creds := map[string]string{"username": name, "password": "s3cret"}

	reg := invoke(t, spec, "user", http.MethodPost, "/v1/users", creds)
	require.Equal(t, int64(0), reg.Code())
	id := reg.Int("user_id")

	dup := invoke(t, spec, "user", http.MethodPost, "/v1/users", creds)
	require.Equal(t, int64(409), dup.Code(), "%s", dup.Raw)

	bad := invoke(t, spec, "user", http.MethodPost, "/v1/users", map[string]string{"username": "", "password": "x"})
	require.Equal(t, int64(400), bad.Code(), "%s", bad.Raw)

	login := invoke(t, spec, "user", http.MethodPost, "/v1/login", creds)
	require.Equal(t, id, login.Int("user_id"))
	wrong := invoke(t, spec, "user", http.MethodPost, "/v1/login",
		map[string]string{"username": name, "password": "nope"})
	require.Equal(t, int64(403), wrong.Code(), "%s", wrong.Raw)

	one := invoke(t, spec, "user", http.MethodGet, fmt.Sprintf("/v1/users/%d", id), nil)
	require.Equal(t, name, one.Str("user.name"))
	missing := invoke(t, spec, "user", http.MethodGet, "/v1/users/900719925474099", nil)
	require.Equal(t, int64(404), missing.Code(), "%s", missing.Raw)

	batch := invoke(t, spec, "user", http.MethodPost, "/v1/users/batch",
		map[string]any{"ids": []int64{id, 900719925474099, id}})
	users, _ := batch.Body["users"].([]any)
	require.Len(t, users, 1, "unknown ids are left out and duplicates folded: %s", batch.Raw)
}

func TestAppsRefuseCallersWithoutTheAppToken(t *testing.T) {
	cases := []struct {
		app, path string
		refused   bool
	}{
		{"gateway", "/v1/users/batch", false},
		{"user", "/v1/users/batch", true},
		{"video", "/v1/videos/batch", true},
		{"relation", "/v1/users/batch", true},
		{"message", "/v1/message-ids", true},
		{"message-2", "/v1/message-ids", true},
		{"user-2", "/v1/users/batch", true},
		{"favorite", "/v1/likes/check", true},
		{"comment", "/v1/comments", true},
		{"video", "/events/favorite-events", true},
		// The gateway is public, but only its sidecar delivers events.
		{"gateway", "/events/fanout/message-events", true},
	}
	for _, tc := range cases {
		t.Run(tc.app+tc.path, func(t *testing.T) {
			url := fmt.Sprintf("http://127.0.0.1:%d%s", mesh.App(tc.app).Port, tc.path)
			resp, err := http.Post(url, "application/json", bytes.NewReader([]byte(`{"ids":[1]}`)))
			require.NoError(t, err)
			defer resp.Body.Close()
			if tc.refused {
				var env map[string]any
				require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
				require.Equal(t, 401.0, env["status_code"], "%v", env)
			}
		})
	}
}

// TestSidecarsRefuseCallersWithoutTheDaprAPIToken calls every sidecar's
// HTTP API without the Dapr API token, and then with it: state, service
// invocation, secrets and metadata are refused without it.
func TestSidecarsRefuseCallersWithoutTheDaprAPIToken(t *testing.T) {
	cases := []struct {
		app, method, path string
	}{
		{"user", http.MethodGet, "/v1.0/state/userstore/seq"},
		{"gateway", http.MethodPost, "/v1.0/invoke/user/method/v1/users/batch"},
		{"gateway", http.MethodGet, "/v1.0/secrets/secretstore/token-signing-key"},
		{"message", http.MethodGet, "/v1.0/metadata"},
		{"video", http.MethodGet, "/v1.0/state/videostore/seq"},
	}
	for _, tc := range cases {
		t.Run(tc.app+tc.path, func(t *testing.T) {
			for _, token := range []string{"", "not-the-token", mesh.DaprAPIToken()} {
				url := fmt.Sprintf("http://127.0.0.1:%d%s", mesh.App(tc.app).DaprHTTPPort, tc.path)
				req, err := http.NewRequest(tc.method, url, bytes.NewReader([]byte(`{"ids":[1]}`)))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("dapr-api-token", token)
				}
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				if token == mesh.DaprAPIToken() {
					require.NotEqual(t, http.StatusUnauthorized, resp.StatusCode, "the right token is let in")
				} else {
					require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "token %q", token)
				}
			}
		})
	}
}

// TestSidecarsLetOnlyTheirCallersIn calls services through the sidecars of
// apps that may and may not call them: with mTLS identities from sentry,
// each sidecar enforces its app's access-control list
// (components/config/callers).
func TestSidecarsLetOnlyTheirCallersIn(t *testing.T) {
	cases := []struct {
		from, to, path string
		allowed        bool
	}{
		{"gateway", "user", "/v1/users/batch", true},
		{"relation", "user", "/v1/users/batch", true},
		{"message", "user", "/v1/users/batch", true},
		{"favorite", "video", "/v1/videos/batch", true},
		{"video", "user", "/v1/users/batch", false},
		{"user", "video", "/v1/videos/batch", false},
		{"comment", "favorite", "/v1/likes/check", false},
		{"message", "relation", "/v1/relations/batch", false},
		{"relation", "gateway", "/v1/users/batch", false},
	}
	for _, tc := range cases {
		t.Run(tc.from+"->"+tc.to, func(t *testing.T) {
			url := fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke/%s/method%s",
				mesh.App(tc.from).DaprHTTPPort, tc.to, tc.path)
			req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(`{"ids":[1]}`)))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("dapr-api-token", mesh.DaprAPIToken())
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.allowed {
				require.NotEqual(t, http.StatusForbidden, resp.StatusCode, "%s", body)
				require.Less(t, resp.StatusCode, 500, "%s", body)
			} else {
				require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
			}
		})
	}
}
