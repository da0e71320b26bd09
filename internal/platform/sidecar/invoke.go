package sidecar

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/douvo/douvo/internal/platform/apierr"
)

// maxErrorBody bounds how much of a failed response is read for its envelope.
const maxErrorBody = 64 << 10

// envelope is the status part of every DouVo response.
type envelope struct {
	StatusCode *int32 `json:"status_code"`
	StatusMsg  string `json:"status_msg"`
}

// Invoke calls method path on the app appID through the sidecar with in as
// its JSON body (nil for none) and decodes the JSON answer into out (nil to
// discard it). An answer whose envelope reports a refusal (HTTP 200 with a
// non-zero status_code, see apierr.Kind.HTTPStatus) or a fault comes back as
// the *apierr.Error it describes; a target that cannot be reached comes back
// as apierr.Unavailable.
func (s *Sidecar) Invoke(ctx context.Context, appID, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s request: %w", appID, err)
		}
		body = bytes.NewReader(b)
	}
	return s.InvokeStream(ctx, appID, method, path, "application/json", body, -1, out)
}

// InvokeStream is Invoke with a body streamed from r, of the given content
// type and length (-1 when unknown), so that large uploads pass through
// without being held in memory.
func (s *Sidecar) InvokeStream(ctx context.Context, appID, method, path, contentType string,
	r io.Reader, length int64, out any,
) error {
	target := s.httpBase + "/v1.0/invoke/" + url.PathEscape(appID) + "/method/" + path
	req, err := http.NewRequestWithContext(ctx, method, target, r)
	if err != nil {
		return fmt.Errorf("build %s request: %w", appID, err)
	}
	if r != nil {
		req.Header.Set("Content-Type", contentType)
		req.ContentLength = length
	}
	req.Header.Set("Accept", "application/json")
	if s.token != "" {
		req.Header.Set("dapr-api-token", s.token)
	}
	s.propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))

	resp, err := s.send(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("invoke %s %s: %w", appID, path,
				apierr.New(apierr.Unavailable, appID+" service did not answer in time"))
		}
		return fmt.Errorf("invoke %s %s: %w: %w", appID, path,
			apierr.New(apierr.Unavailable, appID+" service is unavailable"), err)
	}
	defer resp.Body.Close()

	if resp.StatusCode/100 != 2 {
		return decodeFailure(appID, resp)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read %s answer: %w", appID, err)
	}
	// Every DouVo answer carries an envelope. A success without a body comes
	// from the sidecar, not the app: daprd answers so when the target app
	// dies in the middle of the call, and the call's outcome is then unknown.
	if len(raw) == 0 {
		return fmt.Errorf("invoke %s %s: empty answer: %w", appID, path,
			apierr.New(apierr.Unavailable, appID+" service is unavailable"))
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("decode %s answer: %w", appID, err)
	}
	if env.StatusCode != nil && *env.StatusCode != 0 {
		return apierr.FromStatus(*env.StatusCode, env.StatusMsg)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s answer: %w", appID, err)
	}
	return nil
}

// abandonGrace is how long past the caller's deadline an abandoned call
// may still run before its connection to the sidecar is cut.
const abandonGrace = time.Minute

// maxDrain bounds how much of an abandoned call's answer is read.
const maxDrain = 16 << 20

// send sends req to the sidecar without ever cancelling it while the
// sidecar works on it: a Dapr 1.16 sidecar whose caller goes away in the
// middle of a service invocation may crash when the answer arrives
// (dapr/dapr#10371). The request runs under a context of its own; when ctx
// is done first, send returns ctx's error at once and leaves the call to
// finish in the background, bounded by the sidecar's own timeouts and by
// abandonGrace past ctx's deadline, its answer read and dropped.
func (s *Sidecar) send(ctx context.Context, req *http.Request) (*http.Response, error) {
	var (
		detached context.Context
		cancel   context.CancelFunc
	)
	if d, ok := ctx.Deadline(); ok {
		detached, cancel = context.WithDeadline(context.WithoutCancel(ctx), d.Add(abandonGrace))
	} else {
		detached, cancel = context.WithCancel(context.WithoutCancel(ctx))
	}
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := s.http.Do(req.WithContext(detached)) //nolint:bodyclose // closed by the receiver
		done <- result{resp, err}
	}()

	select {
	case r := <-done:
		if r.err != nil {
			cancel()
			return nil, r.err
		}
		r.resp.Body = cancelOnClose{ReadCloser: r.resp.Body, cancel: cancel}
		return r.resp, nil
	case <-ctx.Done():
		go func() {
			defer cancel()
			if r := <-done; r.err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(r.resp.Body, maxDrain))
				_ = r.resp.Body.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// cancelOnClose is an answer's body that releases the call's context when
// closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close implements io.Closer.
func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// decodeFailure turns a non-2xx answer into an error. The target app's own
// envelope wins; an answer from the sidecar itself (the target is down, the
// circuit is open, the call timed out) means the service is unavailable.
func decodeFailure(appID string, resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var env envelope
	if json.Unmarshal(raw, &env) == nil && env.StatusCode != nil && *env.StatusCode != 0 {
		return apierr.FromStatus(*env.StatusCode, env.StatusMsg)
	}
	return fmt.Errorf("invoke %s: status %d: %s: %w", appID, resp.StatusCode, bytes.TrimSpace(raw),
		apierr.New(apierr.Unavailable, appID+" service is unavailable"))
}

// InvokeRaw calls method path on the app appID through the sidecar with the
// given request headers and no body, and returns the answer as it is,
// whatever its status, for callers that relay it (media with Range
// requests). The caller must close the answer's body. Reading the body
// needs ctx alive: a caller that streams it after its own request has
// returned must pass a context that outlives that request.
func (s *Sidecar) InvokeRaw(ctx context.Context, appID, method, path string, header http.Header) (*http.Response, error) {
	target := s.httpBase + "/v1.0/invoke/" + url.PathEscape(appID) + "/method/" + path
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, fmt.Errorf("build %s request: %w", appID, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if s.token != "" {
		req.Header.Set("dapr-api-token", s.token)
	}
	s.propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))

	resp, err := s.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s %s: %w: %w", appID, path,
			apierr.New(apierr.Unavailable, appID+" service is unavailable"), err)
	}
	return resp, nil
}
