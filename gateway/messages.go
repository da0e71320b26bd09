package gateway

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/internal/platform/web"
	"github.com/douvo/douvo/services/message"
)

// Message is the client's Message object.
type Message struct {
	ID         int64  `json:"id"`
	ToUserID   int64  `json:"to_user_id"`
	FromUserID int64  `json:"from_user_id"`
	Content    string `json:"content"`
	CreateTime int64  `json:"create_time"`
}

func clientMessage(m message.Message) Message {
	return Message{ID: m.ID, ToUserID: m.ToUserID, FromUserID: m.FromUserID, Content: m.Content,
		CreateTime: m.CreateTime}
}

// LatestMessage is what a FriendUser says about the conversation with that
// friend.
type LatestMessage struct {
	// Message is the newest message exchanged, as the viewer's history
	// shows it.
	Message Message
	// MsgType is 1 when the viewer sent Message and 0 when the viewer
	// received it.
	MsgType int64
}

type messageActionResponse struct {
	web.Status
	// Message is the sent message, as the sender's history shows it; an
	// addition to the contract that clients may ignore.
	Message Message `json:"message"`
}

type chatResponse struct {
	web.Status
	MessageList []Message `json:"message_list"`
}

// actionSend is the only message action_type.
const actionSend = "1"

var errBadMessageAction = apierr.New(apierr.Invalid, "action_type must be 1 (send a message)")

// messageRoutes registers the chat endpoints and the push stream.
func (g *Gateway) messageRoutes(api fiber.Router, mw chain) {
	route(api, "/message/action/", mw.required, mw.perUser, g.messageAction)
	route(api, "/message/chat/", mw.required, mw.perUser, g.messageChat)
	api.Get("/message/stream/", mw.required, mw.perUser, g.messageStream)
}

// messageAction sends a message (action_type 1) from the caller to
// to_user_id. The answer comes once the message is in both users'
// histories.
func (g *Gateway) messageAction(c *fiber.Ctx) error {
	action, err := requireParam(c, "action_type")
	if err != nil {
		return err
	}
	if strings.TrimSpace(action) != actionSend {
		return errBadMessageAction
	}
	to, err := idParam(c, "to_user_id")
	if err != nil {
		return err
	}
	from := viewer(c)
	if to == from {
		return message.ErrSelf
	}
	content, err := requireParam(c, "content")
	if err != nil {
		return err
	}

	m, err := g.svc.Messages.Send(c.UserContext(), from, to, content)
	if err != nil {
		return err
	}
	return c.JSON(messageActionResponse{Status: web.OK(), Message: clientMessage(m)})
}

// messageChat lists the conversation between the caller and to_user_id
// after pre_msg_time (Unix ms, absent = 0), oldest first. A client polling
// with the create_time of the last message it has gets each message once.
func (g *Gateway) messageChat(c *fiber.Ctx) error {
	peer, err := idParam(c, "to_user_id")
	if err != nil {
		return err
	}
	after, err := millisParam(c, "pre_msg_time", 0)
	if err != nil {
		return err
	}
	msgs, err := g.svc.Messages.History(c.UserContext(), viewer(c), peer, after)
	if err != nil {
		return err
	}
	list := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		list = append(list, clientMessage(m))
	}
	return c.JSON(chatResponse{Status: web.OK(), MessageList: list})
}

// latestMessages returns, for each of peers the viewer has exchanged
// messages with, the newest message and its msgType, in one call to the
// message service per message.MaxPeers peers. Peers without messages are
// absent from the map.
//
// The friend list fills each FriendUser from it: "message" with
// Message.Content (clients read it as the text of the latest message) and
// "msgType" with MsgType.
func (g *Gateway) latestMessages(ctx context.Context, viewer int64, peers []int64) (map[int64]LatestMessage, error) {
	out := make(map[int64]LatestMessage, len(peers))
	for start := 0; start < len(peers); start += message.MaxPeers {
		chunk := peers[start:min(start+message.MaxPeers, len(peers))]
		latest, err := g.svc.Messages.Latest(ctx, viewer, chunk)
		if err != nil {
			return nil, fmt.Errorf("latest messages: %w", err)
		}
		for _, l := range latest {
			out[l.PeerID] = LatestMessage{Message: clientMessage(l.Message), MsgType: int64(l.MsgType)}
		}
	}
	return out, nil
}
