// Package events carries DouVo's domain events over Dapr pub/sub. Publishers
// give every event a deterministic id, so that a retried publish is
// recognised as the same event by the broker and by consumers. Subscribers
// declare their subscriptions in code and decide per event whether it is
// done, should be retried, or should go to the dead-letter topic.
//
// Delivery is at least once and may reorder: handlers must be idempotent.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/gofiber/fiber/v2"
)

// PubSub is the name of the Dapr pub/sub component every profile provides.
// Its subscribers share the work: each event reaches one instance of each
// subscribing app, and waits for that app while it is down.
const PubSub = "pubsub"

// Fanout is the name of the pub/sub component that hands every event to
// every running instance of a subscribing app, for state held per instance
// (open client connections). It carries the same topics as PubSub, keeps
// nothing for an instance that is down, and starts each instance at the
// newest event.
const Fanout = "fanout"

// DeadLetterSuffix names a topic's dead-letter topic: "<topic>.dead".
// Events a handler drops, or that still fail after the resiliency policy's
// retries, land there for an operator to inspect and replay.
const DeadLetterSuffix = ".dead"

// ErrDrop marks a handler error as permanent: the event can never succeed
// (it is malformed, or refers to something that cannot exist), so it goes to
// the dead-letter topic instead of being retried. Wrap it with %w.
var ErrDrop = errors.New("drop event")

// Publisher publishes events through the sidecar.
type Publisher struct {
	dapr dapr.Client
}

// NewPublisher returns a Publisher on client.
func NewPublisher(client dapr.Client) *Publisher { return &Publisher{dapr: client} }

// Publish sends data as JSON to topic as a CloudEvent whose id is id. Use an
// id derived from the fact the event reports, so that publishing the same
// fact twice yields the same id.
func (p *Publisher) Publish(ctx context.Context, topic, id string, data any) error {
	err := p.dapr.PublishEvent(ctx, PubSub, topic, data,
		dapr.PublishEventWithContentType("application/json"),
		dapr.PublishEventWithMetadata(map[string]string{"cloudevent.id": id}))
	if err != nil {
		return fmt.Errorf("publish %s event %s: %w", topic, id, err)
	}
	return nil
}

// Entry is one event of a batch: its deterministic id and its payload.
type Entry struct {
	ID   string
	Data any
}

// PublishBatch sends entries to topic in one call to the sidecar, which
// publishes them concurrently: their order is not kept. It returns the ids
// of the entries that were not published (every id when the call itself
// failed) and an error if there are any; publish those again later.
func (p *Publisher) PublishBatch(ctx context.Context, topic string, entries []Entry) ([]string, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	batch := make([]any, 0, len(entries))
	var failed []string
	for _, e := range entries {
		data, err := json.Marshal(e.Data)
		if err != nil {
			failed = append(failed, e.ID)
			continue
		}
		batch = append(batch, dapr.PublishEventsEvent{
			EntryID: e.ID, Data: data, ContentType: "application/json",
			Metadata: map[string]string{"cloudevent.id": e.ID},
		})
	}
	resp := p.dapr.PublishEvents(ctx, PubSub, topic, batch)
	for _, f := range resp.FailedEvents {
		if ev, ok := f.(dapr.PublishEventsEvent); ok {
			failed = append(failed, ev.EntryID)
		}
	}
	if len(failed) > 0 {
		return failed, fmt.Errorf("publish %d of %d %s events: %w", len(failed), len(entries), topic,
			errors.Join(resp.Error, errors.New("some events were not published")))
	}
	return nil, nil
}

// Message is a delivered event.
type Message struct {
	// ID is the CloudEvent id: the same on every redelivery.
	ID string
	// Topic is the topic it was published to.
	Topic string
	// Data is the event's JSON payload.
	Data json.RawMessage
}

// Decode unmarshals the payload into v; a payload that does not decode is
// permanent, so the error wraps ErrDrop.
func (m Message) Decode(v any) error {
	if err := json.Unmarshal(m.Data, v); err != nil {
		return fmt.Errorf("decode %s event %s: %w: %w", m.Topic, m.ID, ErrDrop, err)
	}
	return nil
}

// Handler processes one event. It returns nil when the event is done, an
// error wrapping ErrDrop when it can never succeed, and any other error to
// have it delivered again.
type Handler func(ctx context.Context, m Message) error

// Subscription routes one topic to a handler.
type Subscription struct {
	// PubSub is the component to consume from: PubSub when empty, or Fanout.
	PubSub string
	// Topic is the topic to consume.
	Topic string
	// Handler processes its events.
	Handler Handler
}

// subscriptionDoc is one entry of the list Dapr reads from /dapr/subscribe.
type subscriptionDoc struct {
	PubsubName      string `json:"pubsubname"`
	Topic           string `json:"topic"`
	Route           string `json:"route"`
	DeadLetterTopic string `json:"deadLetterTopic"`
}

// cloudEvent is the part of a delivered CloudEvent the handlers need.
type cloudEvent struct {
	ID    string          `json:"id"`
	Topic string          `json:"topic"`
	Data  json.RawMessage `json:"data"`
}

// Mount declares subs to the sidecar (GET /dapr/subscribe) and serves their
// deliveries under /events/<topic>, or /events/<component>/<topic> for a
// component other than PubSub. Each delivery's outcome is logged once.
func Mount(app fiber.Router, logger *slog.Logger, subs ...Subscription) {
	docs := make([]subscriptionDoc, 0, len(subs))
	for _, s := range subs {
		component, route := PubSub, "/events/"+s.Topic
		if s.PubSub != "" && s.PubSub != PubSub {
			component, route = s.PubSub, "/events/"+s.PubSub+"/"+s.Topic
		}
		docs = append(docs, subscriptionDoc{
			PubsubName: component, Topic: s.Topic, Route: route,
			DeadLetterTopic: s.Topic + DeadLetterSuffix,
		})
		app.Post(route, deliver(logger, s))
	}
	app.Get("/dapr/subscribe", func(c *fiber.Ctx) error { return c.JSON(docs) })
}

// Dapr's verdicts on a delivery.
const (
	statusSuccess = "SUCCESS"
	statusRetry   = "RETRY"
	statusDrop    = "DROP"
)

func deliver(logger *slog.Logger, s Subscription) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var ce cloudEvent
		if err := json.Unmarshal(c.Body(), &ce); err != nil {
			logger.WarnContext(c.UserContext(), "event dropped: not a CloudEvent",
				slog.String("topic", s.Topic), slog.String("error", err.Error()))
			return c.JSON(fiber.Map{"status": statusDrop})
		}
		msg := Message{ID: ce.ID, Topic: s.Topic, Data: ce.Data}

		err := s.Handler(c.UserContext(), msg)
		switch {
		case err == nil:
			return c.JSON(fiber.Map{"status": statusSuccess})
		case errors.Is(err, ErrDrop):
			logger.WarnContext(c.UserContext(), "event dropped to dead letters",
				slog.String("topic", s.Topic), slog.String("event_id", ce.ID),
				slog.String("error", err.Error()))
			return c.JSON(fiber.Map{"status": statusDrop})
		default:
			logger.WarnContext(c.UserContext(), "event will be retried",
				slog.String("topic", s.Topic), slog.String("event_id", ce.ID),
				slog.String("error", err.Error()))
			return c.JSON(fiber.Map{"status": statusRetry})
		}
	}
}
