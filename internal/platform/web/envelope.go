package web

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
)

// Status is the envelope every response carries. Embed it in response
// structs so that its fields sit at the top level of the JSON object.
type Status struct {
	// StatusCode is 0 on success and an apierr.Kind otherwise.
	StatusCode int32 `json:"status_code"`
	// StatusMsg says in words what happened.
	StatusMsg string `json:"status_msg"`
}

// OK is the envelope of a successful response.
func OK() Status { return Status{StatusCode: 0, StatusMsg: "success"} }

// Failed reports whether the envelope describes an error.
func (s Status) Failed() bool { return s.StatusCode != 0 }

// Err rebuilds the error the envelope describes, or nil on success.
func (s Status) Err() error {
	if !s.Failed() {
		return nil
	}
	return apierr.FromStatus(s.StatusCode, s.StatusMsg)
}

// fieldsError carries response keys that must be present even when a request
// fails, because clients read them unconditionally.
type fieldsError struct {
	err    error
	fields fiber.Map
}

func (e *fieldsError) Error() string { return e.err.Error() }
func (e *fieldsError) Unwrap() error { return e.err }

// WithFields returns err annotated with keys to add to its error response.
func WithFields(err error, fields fiber.Map) error {
	return &fieldsError{err: err, fields: fields}
}

// errorHandler writes err as the client envelope. With public set, business
// refusals are HTTP 200 as the client contract asks.
func errorHandler(public bool) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		e := fromFiber(err)
		status := e.Kind.HTTPStatus()
		switch {
		case isNoRoute(err):
			status = fiber.StatusNotFound
		case public:
			status = e.Kind.PublicHTTPStatus()
		}

		body := fiber.Map{"status_code": int32(e.Kind), "status_msg": e.Msg}
		var fe *fieldsError
		if errors.As(err, &fe) {
			for k, v := range fe.fields {
				body[k] = v
			}
		}
		c.Locals(errorLocal, err)
		return c.Status(status).JSON(body)
	}
}

// isNoRoute reports whether err is Fiber's answer to a path no route
// matches; it is a real 404 under either mapping.
func isNoRoute(err error) bool {
	var fe *fiber.Error
	return errors.As(err, &fe) && fe.Code == fiber.StatusNotFound
}

// fromFiber translates Fiber's own errors (unknown route, body too large,
// wrong method) into apierr terms; other errors go through apierr.From.
func fromFiber(err error) *apierr.Error {
	var fe *fiber.Error
	if !errors.As(err, &fe) {
		return apierr.From(err)
	}
	switch fe.Code {
	case fiber.StatusNotFound:
		return apierr.New(apierr.NotFound, "no such endpoint: check the path")
	case fiber.StatusMethodNotAllowed:
		return apierr.New(apierr.Invalid, "method not allowed on this endpoint")
	case fiber.StatusRequestEntityTooLarge:
		return apierr.New(apierr.TooLarge, "request body is larger than the server accepts")
	case fiber.StatusTooManyRequests:
		return apierr.New(apierr.TooManyRequests, "too many requests: slow down and retry later")
	case fiber.StatusUnauthorized:
		return apierr.New(apierr.Unauthenticated, "missing or invalid token")
	default:
		if fe.Code >= 400 && fe.Code < 500 {
			return apierr.New(apierr.Invalid, fe.Message)
		}
		return apierr.From(err)
	}
}
