// Package message is DouVo's chat service: one-to-one text messages, each
// user's conversation histories, the latest message per peer for the friend
// list, and the events that push new messages to connected clients.
//
// Every user has one Dapr actor (type ActorType, id = user id) that holds
// that user's copy of each of their conversations, the latest message and
// unread count per peer, and the ids of the messages it holds. A sent
// message is published as an event on Topic (the commit point: from then on
// it reaches both users at least once) and stored in the sender's and the
// recipient's actor before the send is answered, so both see it on their
// very next request. The service also consumes Topic and stores every event
// again in both actors; an actor stores a message id once, so this costs a
// lookup when the send already stored it, and completes delivery when the
// send could not.
//
// Message ids are leased in blocks to callers, which give a message its id
// and its send time before the first attempt to send it. A send retried
// with the same id, by the caller or by the sidecar's resiliency policy, is
// the same message and is stored once.
package message

import (
	"strings"
	"unicode/utf8"

	"github.com/douvo/douvo/internal/platform/apierr"
)

// AppID is the Dapr app-id the message service runs under.
const AppID = "message"

// Names of the Dapr building blocks the message service uses.
const (
	// StoreName is the state store holding the id sequence and, as the
	// actor state store, every chat actor's state. It is scoped to AppID.
	StoreName = "messagestore"
	// Topic carries every sent message, as a Message with the send time as
	// CreateTime, under the message id as the CloudEvent id.
	Topic = "message-events"
	// ActorType is the actor type holding one user's chats.
	ActorType = "UserChat"
)

// Limits of the chat.
const (
	// MaxContentLen is the longest message, in characters, after trimming.
	MaxContentLen = 1000
	// MaxPeers is the most peers one latest-message lookup accepts.
	MaxPeers = 500
	// HistoryLimit is the most messages one history answer holds: the
	// oldest ones after the asked time, so that a client asking again from
	// the last one it got receives the rest.
	HistoryLimit = 500
	// PageSize is how many messages one stored page of a conversation holds.
	PageSize = 32
	// IDBlock is how many message ids one lease hands out.
	IDBlock = 1000
	// MaxID bounds ids so that clients decoding JSON numbers as floats keep
	// them exact.
	MaxID = 1<<53 - 1
)

// Errors the message service returns. Their messages are shown to clients.
var (
	ErrContentEmpty = apierr.New(apierr.Invalid,
		"content must not be empty or only spaces")
	ErrContentTooLong = apierr.New(apierr.Invalid,
		"content must be at most 1000 characters")
	ErrContentInvalid = apierr.New(apierr.Invalid, "content must be UTF-8 text")
	ErrSelf           = apierr.New(apierr.Invalid, "you cannot send messages to yourself")
	ErrBadUserID      = apierr.New(apierr.Invalid, "user ids must be positive integers")
	ErrBadMessageID   = apierr.New(apierr.Invalid,
		"message id must be a positive integer below 2^53, leased from the message service")
	ErrBadTime   = apierr.New(apierr.Invalid, "time must not be negative")
	ErrBadSentAt = apierr.New(apierr.Invalid,
		"sent_at must be the send time in Unix milliseconds, within a minute of the service's clock")
	ErrTooManyPeers = apierr.New(apierr.Invalid, "too many peers in one latest-message lookup")
	ErrNoRecipient  = apierr.New(apierr.NotFound, "recipient user not found")
	ErrNoSender     = apierr.New(apierr.NotFound, "sender user not found")
	ErrUnavailable  = apierr.New(apierr.Unavailable, "chat storage is unavailable: retry shortly")
	// ErrNotDelivered reaches a client only after its sidecar retried the
	// same send; a client that sent it again would get a second message.
	ErrNotDelivered = apierr.New(apierr.Unavailable,
		"message was sent and will appear in the chat shortly: do not send it again")
	errNotAParty  = apierr.New(apierr.Invalid, "message does not belong to this user")
	errBadActorID = apierr.New(apierr.Invalid, "chat actor id must be a user id")
)

// Message is one chat message. CreateTime is Unix milliseconds: in an event
// it is the send time; in a user's history it is when the message entered
// that user's copy of the conversation, which is the send time unless two
// messages crossed within a millisecond or two instances' clocks disagree,
// when it is moved forward just enough to keep the history strictly
// increasing, so that polling with the last seen time never skips one.
type Message struct {
	ID         int64  `json:"id"`
	FromUserID int64  `json:"from_user_id"`
	ToUserID   int64  `json:"to_user_id"`
	Content    string `json:"content"`
	CreateTime int64  `json:"create_time"`
}

// Message types of Latest, as the friend list's msgType reports them.
const (
	// Received means the viewer received the message.
	Received = 0
	// Sent means the viewer sent the message.
	Sent = 1
)

// Latest is the newest message of one of the viewer's conversations.
type Latest struct {
	// PeerID is the other user of the conversation.
	PeerID int64 `json:"peer_id"`
	// Message is the newest message, in the viewer's copy.
	Message Message `json:"message"`
	// MsgType is Sent or Received, from the viewer's side.
	MsgType int `json:"msg_type"`
	// Unread counts the messages the viewer received since last reading
	// this conversation's history.
	Unread int `json:"unread"`
}

// peerOf returns the other party of m as seen by owner, or false when owner
// is not a party.
func peerOf(m Message, owner int64) (int64, bool) {
	switch owner {
	case m.FromUserID:
		return m.ToUserID, true
	case m.ToUserID:
		return m.FromUserID, true
	default:
		return 0, false
	}
}

// normalizeContent trims content and checks it against the limits.
func normalizeContent(content string) (string, error) {
	if !utf8.ValidString(content) {
		return "", ErrContentInvalid
	}
	content = strings.TrimSpace(content)
	n := utf8.RuneCountInString(content)
	switch {
	case n == 0:
		return "", ErrContentEmpty
	case n > MaxContentLen:
		return "", ErrContentTooLong
	}
	return content, nil
}

// validMessage reports whether m is a well-formed stored or published
// message.
func validMessage(m Message) error {
	if m.ID <= 0 || m.ID > MaxID {
		return ErrBadMessageID
	}
	if m.FromUserID <= 0 || m.ToUserID <= 0 {
		return ErrBadUserID
	}
	if m.FromUserID == m.ToUserID {
		return ErrSelf
	}
	if m.CreateTime < 0 {
		return ErrBadTime
	}
	if _, err := normalizeContent(m.Content); err != nil {
		return err
	}
	return nil
}
