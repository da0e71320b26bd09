package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// reply is a decoded API answer, numbers kept exact.
type reply struct {
	HTTPStatus int
	Body       map[string]any
	Raw        []byte
}

// Code is the envelope's status_code.
func (r reply) Code() int64 { return r.Int("status_code") }

// Msg is the envelope's status_msg.
func (r reply) Msg() string { s, _ := r.Body["status_msg"].(string); return s }

// Int reads an integer field at a dotted path, such as "user.id".
func (r reply) Int(path string) int64 {
	n, ok := lookup(r.Body, path).(json.Number)
	if !ok {
		return -1
	}
	v, err := n.Int64()
	if err != nil {
		return -1
	}
	return v
}

// Str reads a string field at a dotted path.
func (r reply) Str(path string) string {
	s, _ := lookup(r.Body, path).(string)
	return s
}

// Has reports whether a field exists at a dotted path.
func (r reply) Has(path string) bool { return lookup(r.Body, path) != nil }

func lookup(v any, path string) any {
	for _, key := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

// how says where a request puts its parameters.
type how int

const (
	inQuery how = iota
	inForm
	inMultipart
)

// call sends a request to the gateway and decodes its JSON answer.
func call(t *testing.T, method, path string, where how, params url.Values) reply {
	t.Helper()
	u := mesh.GatewayURL() + path
	var body io.Reader
	contentType := ""
	switch where {
	case inQuery:
		u += "?" + params.Encode()
	case inForm:
		body = strings.NewReader(params.Encode())
		contentType = "application/x-www-form-urlencoded"
	case inMultipart:
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, vs := range params {
			for _, v := range vs {
				require.NoError(t, w.WriteField(k, v))
			}
		}
		require.NoError(t, w.Close())
		body, contentType = &buf, w.FormDataContentType()
	}
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return do(t, req)
}

// do sends req and decodes the JSON answer, asserting the content type.
func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, []string{"application/json", "application/json; charset=utf-8"},
		resp.Header.Get("Content-Type"), "answer of %s %s: %s", req.Method, req.URL.Path, raw)

	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m), "answer is not a JSON object: %s", raw)
	require.Contains(t, m, "status_code", "no status_code in %s", raw)
	require.Contains(t, m, "status_msg", "no status_msg in %s", raw)
	return reply{HTTPStatus: resp.StatusCode, Body: m, Raw: raw}
}

// get and post send parameters in the query string.
func get(t *testing.T, path string, params url.Values) reply {
	t.Helper()
	return call(t, http.MethodGet, path, inQuery, params)
}

func post(t *testing.T, path string, params url.Values) reply {
	t.Helper()
	return call(t, http.MethodPost, path, inQuery, params)
}

// ok asserts a successful answer and returns it.
func ok(t *testing.T, r reply) reply {
	t.Helper()
	require.Equal(t, http.StatusOK, r.HTTPStatus, "%s", r.Raw)
	require.Equal(t, int64(0), r.Code(), "%s", r.Raw)
	return r
}

// fails asserts a refusal with the given HTTP status and a message that
// contains want.
func fails(t *testing.T, r reply, httpStatus int, want string) {
	t.Helper()
	require.Equal(t, httpStatus, r.HTTPStatus, "%s", r.Raw)
	require.NotZero(t, r.Code(), "%s", r.Raw)
	require.Contains(t, r.Msg(), want, "%s", r.Raw)
}

// nameSeq makes usernames unique across the tests of one run.
var nameSeq atomic.Int64

// uniqueName returns a fresh username no other test uses.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d_%d", prefix, time.Now().UnixNano()%1_000_000, nameSeq.Add(1))
}

// account is a registered user.
type account struct {
	ID    int64
	Name  string
	Token string
}

// signUp registers a fresh user.
func signUp(t *testing.T, prefix string) account {
	t.Helper()
	name := uniqueName(prefix)
	r := ok(t, post(t, "/douyin/user/register/", url.Values{"username": {name}, "password": {"pw-" + name}}))
	return account{ID: r.Int("user_id"), Name: name, Token: r.Str("token")}
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}
