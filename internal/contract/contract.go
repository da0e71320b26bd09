// Package contract checks calls to a service against the OpenAPI document
// that describes its internal API, so that the document stays true and
// another implementation of the service can be held to it.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Spec is a loaded and validated OpenAPI document.
type Spec struct {
	router routers.Router
}

// Load reads and validates the OpenAPI document at path.
func Load(ctx context.Context, path string) (*Spec, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate %s: %w", path, err)
	}
	doc.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", path, err)
	}
	return &Spec{router: router}, nil
}

// Exchange is one call: what was sent and what came back.
type Exchange struct {
	Method      string
	Path        string
	ContentType string
	Body        []byte
	Status      int
	RespHeader  http.Header
	RespBody    []byte
}

// Check reports whether the exchange is one the document allows: a known
// operation, a valid request, and an answer with a documented status whose
// body matches its schema. A request the service refused (a non-zero
// status_code, or a status other than 2xx) need not be valid; its refusal
// must be documented.
func (s *Spec) Check(ctx context.Context, x Exchange) error {
	req, err := http.NewRequestWithContext(ctx, x.Method, x.Path, bytes.NewReader(x.Body))
	if err != nil {
		return fmt.Errorf("rebuild request: %w", err)
	}
	if x.ContentType != "" {
		req.Header.Set("Content-Type", x.ContentType)
	}
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s is not in the contract: %w", x.Method, x.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route}
	if !refused(x) {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("request breaks the contract: %w", err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 x.Status,
		Header:                 x.RespHeader,
		Body:                   io.NopCloser(bytes.NewReader(x.RespBody)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("answer breaks the contract: %w", err)
	}
	return nil
}

// refused reports whether the service turned the request down.
func refused(x Exchange) bool {
	if x.Status/100 != 2 {
		return true
	}
	var env struct {
		StatusCode int32 `json:"status_code"`
	}
	return json.Unmarshal(x.RespBody, &env) == nil && env.StatusCode != 0
}
