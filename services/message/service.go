package message

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/douvo/douvo/services/user"
)

// Chats reaches the users' chat actors.
type Chats interface {
	// Store stores m in owner's copy of the conversation, once per message
	// id, and returns owner's copy.
	Store(ctx context.Context, owner int64, m Message) (Message, error)
	// History returns owner's messages with peer after a time, oldest
	// first, at most limit.
	History(ctx context.Context, owner, peer, after int64, limit int) ([]Message, error)
	// Latest returns owner's newest message with each peer that has one.
	Latest(ctx context.Context, owner int64, peers []int64) ([]Latest, error)
}

// Users resolves user ids; the user service's client provides it.
type Users interface {
	Batch(ctx context.Context, ids []int64) ([]user.User, error)
}

// Publisher publishes events; events.Publisher provides it.
type Publisher interface {
	Publish(ctx context.Context, topic, id string, data any) error
}

// IDs leases blocks of message ids.
type IDs interface {
	Lease(ctx context.Context, n int) (int64, error)
}

// Service implements the chat's business rules.
type Service struct {
	chats  Chats
	users  Users
	events Publisher
	ids    IDs
	now    func() time.Time
}

// NewService returns a Service on its dependencies.
func NewService(chats Chats, users Users, events Publisher, ids IDs) *Service {
	return &Service{chats: chats, users: users, events: events, ids: ids, now: time.Now}
}

// LeaseIDs reserves IDBlock message ids for a caller and returns the first.
func (s *Service) LeaseIDs(ctx context.Context) (int64, error) {
	first, err := s.ids.Lease(ctx, IDBlock)
	if err != nil {
		return 0, fmt.Errorf("lease message ids: %w: %w", ErrUnavailable, err)
	}
	return first, nil
}

// SendRequest is a message to send, with the id its caller leased for it
// and the time it was sent, both fixed before the first attempt.
type SendRequest struct {
	ID      int64  `json:"id"`
	From    int64  `json:"from_user_id"`
	To      int64  `json:"to_user_id"`
	Content string `json:"content"`
	// SentAt is the send time in Unix milliseconds; it becomes the
	// message's CreateTime unless a history needs a later one.
	SentAt int64 `json:"sent_at"`
}

// MaxClockSkew bounds how far a send time may be from the service's clock.
const MaxClockSkew = time.Minute

// Send validates a message, publishes it and stores it for both users, and
// returns the sender's copy. Bad input is refused before anything is
// published. Once published the message reaches both users; if storing it
// fails, Send reports ErrNotDelivered and a retry of the same request
// completes it without a duplicate.
func (s *Service) Send(ctx context.Context, req SendRequest) (Message, error) {
	if req.ID <= 0 || req.ID > MaxID {
		return Message{}, ErrBadMessageID
	}
	if req.From <= 0 || req.To <= 0 {
		return Message{}, ErrBadUserID
	}
	if req.From == req.To {
		return Message{}, ErrSelf
	}
	if skew := time.Duration(req.SentAt-s.now().UnixMilli()) * time.Millisecond; req.SentAt <= 0 ||
		skew > MaxClockSkew || skew < -MaxClockSkew {
		return Message{}, ErrBadSentAt
	}
	content, err := normalizeContent(req.Content)
	if err != nil {
		return Message{}, err
	}
	if err := s.requireUsers(ctx, req.From, req.To); err != nil {
		return Message{}, err
	}

	m := Message{ID: req.ID, FromUserID: req.From, ToUserID: req.To, Content: content,
		CreateTime: req.SentAt}
	// A failed publish may have reached the broker: it is unavailable, not
	// refused, so that the same request is tried again.
	if err := s.events.Publish(ctx, Topic, strconv.FormatInt(m.ID, 10), m); err != nil {
		return Message{}, fmt.Errorf("send message: %w: %w", ErrUnavailable, err)
	}
	stored, err := s.deliver(ctx, m)
	if err != nil {
		return Message{}, fmt.Errorf("send message %d: %w: %w", m.ID, ErrNotDelivered, err)
	}
	return stored, nil
}

// requireUsers checks that sender and recipient exist, in one lookup.
func (s *Service) requireUsers(ctx context.Context, from, to int64) error {
	found, err := s.users.Batch(ctx, []int64{from, to})
	if err != nil {
		return fmt.Errorf("look up chat users: %w", err)
	}
	has := func(id int64) bool {
		return slices.ContainsFunc(found, func(u user.User) bool { return u.ID == id })
	}
	switch {
	case !has(to):
		return ErrNoRecipient
	case !has(from):
		return ErrNoSender
	}
	return nil
}

// Deliver stores a published message for both users; it is what consuming
// an event does, and storing a message id again changes nothing.
func (s *Service) Deliver(ctx context.Context, m Message) error {
	if err := validMessage(m); err != nil {
		return err
	}
	if _, err := s.deliver(ctx, m); err != nil {
		return fmt.Errorf("deliver message %d: %w", m.ID, err)
	}
	return nil
}

// deliver stores m in both users' actors at once and returns the sender's
// copy.
func (s *Service) deliver(ctx context.Context, m Message) (Message, error) {
	owners := [2]int64{m.FromUserID, m.ToUserID}
	var (
		copies [2]Message
		errs   [2]error
		wg     sync.WaitGroup
	)
	for i, owner := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			copies[i], errs[i] = s.chats.Store(ctx, owner, m)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return Message{}, err
	}
	return copies[0], nil
}

// History returns viewer's messages with peer whose CreateTime is after the
// given time (Unix ms), oldest first, at most HistoryLimit.
func (s *Service) History(ctx context.Context, viewer, peer, after int64) ([]Message, error) {
	if viewer <= 0 || peer <= 0 {
		return nil, ErrBadUserID
	}
	if viewer == peer {
		return nil, ErrSelf
	}
	if after < 0 {
		return nil, ErrBadTime
	}
	msgs, err := s.chats.History(ctx, viewer, peer, after, HistoryLimit)
	if err != nil {
		return nil, fmt.Errorf("chat history: %w", err)
	}
	return msgs, nil
}

// Latest returns viewer's newest message with each of peers, leaving out
// peers without a conversation, in the order of peers' first appearance.
func (s *Service) Latest(ctx context.Context, viewer int64, peers []int64) ([]Latest, error) {
	if viewer <= 0 {
		return nil, ErrBadUserID
	}
	if len(peers) > MaxPeers {
		return nil, ErrTooManyPeers
	}
	uniq := make([]int64, 0, len(peers))
	for _, p := range peers {
		if p > 0 && p != viewer && !slices.Contains(uniq, p) {
			uniq = append(uniq, p)
		}
	}
	if len(uniq) == 0 {
		return []Latest{}, nil
	}
	latest, err := s.chats.Latest(ctx, viewer, uniq)
	if err != nil {
		return nil, fmt.Errorf("latest messages: %w", err)
	}
	return latest, nil
}
