// Package actors hosts Dapr virtual actors inside a DouVo app. The go-sdk's
// actor host is an HTTP server of its own; this package serves the few routes
// the sidecar calls on an actor host (GET /dapr/config and the /actors/...
// calls) on the app's Fiber app instead, and hands every call to a go-sdk
// actor runtime owned by the Host, so actors share the app's port, middleware
// (app API token, tracing, access log) and shutdown.
//
// The go-sdk reports an actor method's error only as a failure kind, never
// its message: actor methods should return errors for faults alone and carry
// business outcomes in their replies.
package actors

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dapr/go-sdk/actor"
	"github.com/dapr/go-sdk/actor/api"
	actorerr "github.com/dapr/go-sdk/actor/error"
	"github.com/dapr/go-sdk/actor/runtime"
	"github.com/gofiber/fiber/v2"
)

// Config is how the sidecar treats the actors of a Host.
type Config struct {
	// IdleTimeout is how long an actor stays active without calls before the
	// sidecar deactivates it and the app drops its in-memory state.
	IdleTimeout time.Duration
	// ScanInterval is how often the sidecar looks for idle actors.
	ScanInterval time.Duration
	// DrainTimeout bounds how long calls in flight may finish when an actor
	// moves to another instance.
	DrainTimeout time.Duration
}

// DefaultConfig keeps actors for ten minutes of idleness and lets calls in
// flight finish for up to ten seconds when actors move between instances.
func DefaultConfig() Config {
	return Config{IdleTimeout: 10 * time.Minute, ScanInterval: 30 * time.Second,
		DrainTimeout: 10 * time.Second}
}

// Host serves the actor types registered on it.
type Host struct {
	rt  *runtime.ActorRunTimeContext
	cfg Config
}

// NewHost returns a Host with no actor types.
func NewHost(cfg Config) *Host {
	return &Host{rt: runtime.NewActorRuntimeContext(), cfg: cfg}
}

// Register adds an actor type. factory returns a fresh actor each time the
// sidecar activates one; it must return the same Type every time.
func (h *Host) Register(factory actor.FactoryContext) {
	h.rt.RegisterActorFactory(factory)
}

// Mount serves the sidecar's actor routes on app. Register every actor type
// before the sidecar first asks for the configuration, that is before the
// app starts serving.
func (h *Host) Mount(app fiber.Router) {
	app.Get("/dapr/config", h.config)
	app.Put("/actors/:type/:id/method/remind/:name", h.reminder)
	app.Put("/actors/:type/:id/method/timer/:name", h.timer)
	app.Put("/actors/:type/:id/method/:method", h.invoke)
	app.Delete("/actors/:type/:id", h.deactivate)
}

// config answers the sidecar's request for the hosted actor types and the
// settings that apply to them.
func (h *Host) config(c *fiber.Ctx) error {
	raw, err := h.rt.GetJSONSerializedConfig()
	if err != nil {
		return fmt.Errorf("actor config: %w", err)
	}
	var cfg api.ActorRuntimeConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("actor config: %w", err)
	}
	cfg.ActorIdleTimeout = h.cfg.IdleTimeout.String()
	cfg.ActorScanInterval = h.cfg.ScanInterval.String()
	cfg.DrainOngingCallTimeout = h.cfg.DrainTimeout.String()
	// A moved actor is deactivated here before it starts elsewhere, so no
	// instance keeps serving from in-memory state another one has changed.
	cfg.DrainBalancedActors = true
	return c.JSON(cfg)
}

func (h *Host) invoke(c *fiber.Ctx) error {
	out, aerr := h.rt.InvokeActorMethod(c.UserContext(), c.Params("type"), c.Params("id"),
		c.Params("method"), c.Body())
	if aerr != actorerr.Success {
		return answer(c, aerr)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(out)
}

func (h *Host) reminder(c *fiber.Ctx) error {
	return answer(c, h.rt.InvokeReminder(c.UserContext(), c.Params("type"), c.Params("id"),
		c.Params("name"), c.Body()))
}

func (h *Host) timer(c *fiber.Ctx) error {
	return answer(c, h.rt.InvokeTimer(c.UserContext(), c.Params("type"), c.Params("id"),
		c.Params("name"), c.Body()))
}

func (h *Host) deactivate(c *fiber.Ctx) error {
	return answer(c, h.rt.Deactivate(c.UserContext(), c.Params("type"), c.Params("id")))
}

// answer writes the outcome of a runtime call as the status the sidecar
// expects, with the failure kind in words for the logs of both sides.
func answer(c *fiber.Ctx, aerr actorerr.ActorErr) error {
	if aerr == actorerr.Success {
		return c.SendStatus(fiber.StatusOK)
	}
	status := fiber.StatusInternalServerError
	if aerr == actorerr.ErrActorTypeNotFound || aerr == actorerr.ErrActorIDNotFound ||
		aerr == actorerr.ErrActorMethodNoFound {
		status = fiber.StatusNotFound
	}
	return c.Status(status).SendString(describe(aerr))
}

// describe names a go-sdk actor failure.
func describe(aerr actorerr.ActorErr) string {
	switch aerr {
	case actorerr.ErrActorTypeNotFound:
		return "actor type is not hosted here"
	case actorerr.ErrActorIDNotFound:
		return "actor is not active here"
	case actorerr.ErrActorMethodNoFound:
		return "actor has no such method"
	case actorerr.ErrActorInvokeFailed:
		return "actor method failed"
	case actorerr.ErrActorMethodSerializeFailed:
		return "actor method arguments or reply could not be encoded"
	case actorerr.ErrRemindersParamsInvalid, actorerr.ErrTimerParamsInvalid:
		return "reminder or timer parameters are invalid"
	case actorerr.ErrReminderFuncUndefined:
		return "actor does not handle reminders"
	case actorerr.ErrSaveStateFailed:
		return "actor state could not be saved"
	default:
		return fmt.Sprintf("actor runtime failure %d", aerr)
	}
}
