package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chatMessage is a Message object as the gateway answers it.
type chatMessage struct {
	ID         int64  `json:"id"`
	ToUserID   int64  `json:"to_user_id"`
	FromUserID int64  `json:"from_user_id"`
	Content    string `json:"content"`
	CreateTime int64  `json:"create_time"`
}

// sendMessage sends content from a to the user to and returns the message
// the gateway reports.
func sendMessage(t *testing.T, a account, to int64, content string) chatMessage {
	t.Helper()
	m, err := trySend(a, to, content)
	require.NoError(t, err)
	return m
}

// history reads a's conversation with peer after pre (Unix ms; -1 leaves
// pre_msg_time out).
func history(t *testing.T, a account, peer int64, pre int64) []chatMessage {
	t.Helper()
	list, err := tryHistory(a, peer, pre)
	require.NoError(t, err)
	return list
}

// trySend and tryHistory are sendMessage and history for goroutines other
// than the test's own: they report failures instead of ending the test.
func trySend(a account, to int64, content string) (chatMessage, error) {
	var out struct {
		Message chatMessage `json:"message"`
	}
	err := gatewayCall(http.MethodPost, "/douyin/message/action/", vals("token", a.Token,
		"to_user_id", strconv.FormatInt(to, 10), "action_type", "1", "content", content), &out)
	if err == nil && out.Message.ID <= 0 {
		err = errors.New("send answered without a message")
	}
	return out.Message, err
}

func tryHistory(a account, peer int64, pre int64) ([]chatMessage, error) {
	params := vals("token", a.Token, "to_user_id", strconv.FormatInt(peer, 10))
	if pre >= 0 {
		params.Set("pre_msg_time", strconv.FormatInt(pre, 10))
	}
	var out struct {
		MessageList []chatMessage `json:"message_list"`
	}
	if err := gatewayCall(http.MethodGet, "/douyin/message/chat/", params, &out); err != nil {
		return nil, err
	}
	if out.MessageList == nil {
		return nil, errors.New("message_list is not an array")
	}
	return out.MessageList, nil
}

// gatewayCall sends params in the query string and decodes a successful
// answer into out.
func gatewayCall(method, path string, params url.Values, out any) error {
	req, err := http.NewRequest(method, mesh.GatewayURL()+path+"?"+params.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Code int    `json:"status_code"`
		Msg  string `json:"status_msg"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: %w: %s", method, path, err, raw)
	}
	if resp.StatusCode != http.StatusOK || env.Code != 0 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, out)
}

// decodeField decodes one top-level field of an answer into v.
func decodeField(t *testing.T, r reply, field string, v any) {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.Raw, &m))
	raw, found := m[field]
	require.True(t, found, "no %s in %s", field, r.Raw)
	require.NoError(t, json.Unmarshal(raw, v), "%s in %s", field, r.Raw)
}

func messageIDs(msgs []chatMessage) []int64 {
	out := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

func TestChatMessageVisibleToBothSidesAtOnce(t *testing.T) {
	a, b := signUp(t, "ann"), signUp(t, "bob")

	sent := sendMessage(t, a, b.ID, "  hello, Bob  ")
	require.Equal(t, "hello, Bob", sent.Content, "content is stored trimmed")
	require.Equal(t, a.ID, sent.FromUserID)
	require.Equal(t, b.ID, sent.ToUserID)
	require.Positive(t, sent.CreateTime)

	for _, viewer := range []struct {
		acct account
		peer int64
	}{{a, b.ID}, {b, a.ID}} {
		got := history(t, viewer.acct, viewer.peer, -1)
		require.Len(t, got, 1, "history of user %d", viewer.acct.ID)
		assert.Equal(t, sent, got[0])
	}

	reply := sendMessage(t, b, a.ID, "hi Ann")
	for _, viewer := range []account{a, b} {
		peer := b.ID
		if viewer.ID == b.ID {
			peer = a.ID
		}
		got := history(t, viewer, peer, 0)
		require.Equal(t, []int64{sent.ID, reply.ID}, messageIDs(got), "oldest first")
		after := history(t, viewer, peer, sent.CreateTime)
		require.Equal(t, []int64{reply.ID}, messageIDs(after), "only messages after pre_msg_time")
	}

	// The parameters may come in a form body too, on GET as well.
	r := ok(t, call(t, http.MethodGet, "/douyin/message/chat/", inForm,
		vals("token", b.Token, "to_user_id", strconv.FormatInt(a.ID, 10))))
	var list []chatMessage
	decodeField(t, r, "message_list", &list)
	require.Len(t, list, 2)
	// Clients may read ids back as floats.
	r = ok(t, get(t, "/douyin/message/chat/", vals("token", b.Token,
		"to_user_id", strconv.FormatFloat(float64(a.ID), 'e', -1, 64))))
	decodeField(t, r, "message_list", &list)
	require.Len(t, list, 2)
}

func TestChatOrderAndPreMsgTimeExactAcrossPages(t *testing.T) {
	a, b := signUp(t, "ord"), signUp(t, "ord")
	// Enough messages to fill several stored pages and part of the next.
	const n = 3*32 + 11
	sent := make([]chatMessage, 0, n)
	for i := range n {
		from, to := a, b
		if i%3 == 2 {
			from, to = b, a
		}
		sent = append(sent, sendMessage(t, from, to.ID, fmt.Sprintf("message %d", i)))
	}

	full := history(t, a, b.ID, -1)
	require.Equal(t, messageIDs(sent), messageIDs(full), "oldest first, nothing missing or repeated")
	require.Equal(t, full, history(t, b, a.ID, -1), "both sides see the same conversation")
	for i := 1; i < len(full); i++ {
		require.Greater(t, full[i].CreateTime, full[i-1].CreateTime, "create_time strictly increases")
	}
	for i, m := range full {
		require.Equal(t, fmt.Sprintf("message %d", i), m.Content)
	}

	// Every cut is exact: after the k-th message's time come exactly the
	// messages after it, whichever page the cut falls in.
	for k := range n + 1 {
		pre := int64(0)
		if k > 0 {
			pre = full[k-1].CreateTime
		}
		viewer, peer := a, b.ID
		if k%2 == 1 {
			viewer, peer = b, a.ID
		}
		require.Equal(t, messageIDs(full[k:]), messageIDs(history(t, viewer, peer, pre)), "after message %d", k)
	}
	// A time between two messages, and one after the last.
	require.Equal(t, messageIDs(full[40:]), messageIDs(history(t, a, b.ID, full[40].CreateTime-1)))
	require.Empty(t, history(t, a, b.ID, full[n-1].CreateTime))
	require.Empty(t, history(t, a, b.ID, full[n-1].CreateTime+60_000))
}

func TestChatCrossingMessagesPolledWithoutLoss(t *testing.T) {
	a, b := signUp(t, "cross"), signUp(t, "cross")
	const perSender = 30

	// Both users send to each other at the same time while each polls the
	// conversation with the create_time of the last message it got, as the
	// client does.
	var (
		sendWG, pollWG sync.WaitGroup
		errMu          sync.Mutex
		errs           []error
		sending        = make(chan struct{})
		polled         = map[int64][]chatMessage{}
	)
	fail := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		errs = append(errs, err)
	}
	for _, p := range [][2]account{{a, b}, {b, a}} {
		sendWG.Add(1)
		go func() {
			defer sendWG.Done()
			for i := range perSender {
				if _, err := trySend(p[0], p[1].ID, fmt.Sprintf("%s %d", p[0].Name, i)); err != nil {
					fail(err)
					return
				}
			}
		}()
		pollWG.Add(1)
		go func() {
			defer pollWG.Done()
			var got []chatMessage
			last := int64(0)
			for done := false; ; {
				select {
				case <-sending:
					done = true
				default:
				}
				msgs, err := tryHistory(p[0], p[1].ID, last)
				if err != nil {
					fail(err)
					return
				}
				got = append(got, msgs...)
				if len(msgs) > 0 {
					last = msgs[len(msgs)-1].CreateTime
				}
				if done {
					break
				}
			}
			errMu.Lock()
			polled[p[0].ID] = got
			errMu.Unlock()
		}()
	}
	sendWG.Wait()
	close(sending)
	pollWG.Wait()
	require.Empty(t, errs)

	for _, p := range [][2]account{{a, b}, {b, a}} {
		full := history(t, p[0], p[1].ID, 0)
		require.Len(t, full, 2*perSender, "user %d", p[0].ID)
		for i := 1; i < len(full); i++ {
			require.Greater(t, full[i].CreateTime, full[i-1].CreateTime, "create_time strictly increases")
		}
		require.Equal(t, messageIDs(full), messageIDs(polled[p[0].ID]),
			"polling with the last create_time saw every message once, in order")
	}
}

func TestChatRefusesBadInputAndStoresNothing(t *testing.T) {
	a, b := signUp(t, "bad"), signUp(t, "bad")
	to := strconv.FormatInt(b.ID, 10)
	send := func(kv ...string) reply {
		return post(t, "/douyin/message/action/", vals(append([]string{"token", a.Token}, kv...)...))
	}
	cases := []struct {
		name   string
		r      func() reply
		status int
		msg    string
	}{
		{"no content", func() reply { return send("to_user_id", to, "action_type", "1") },
			http.StatusBadRequest, "content is required"},
		{"blank content", func() reply { return send("to_user_id", to, "action_type", "1", "content", " \t\n ") },
			http.StatusBadRequest, "must not be empty"},
		{"content too long", func() reply {
			return send("to_user_id", to, "action_type", "1", "content", strings.Repeat("字", 1001))
		}, http.StatusBadRequest, "at most 1000 characters"},
		{"unknown recipient", func() reply {
			return send("to_user_id", "900719925474099", "action_type", "1", "content", "hi")
		}, http.StatusOK, "recipient user not found"},
		{"oneself", func() reply {
			return send("to_user_id", strconv.FormatInt(a.ID, 10), "action_type", "1", "content", "hi")
		}, http.StatusBadRequest, "yourself"},
		{"action_type 2", func() reply { return send("to_user_id", to, "action_type", "2", "content", "hi") },
			http.StatusBadRequest, "action_type must be 1"},
		{"action_type missing", func() reply { return send("to_user_id", to, "content", "hi") },
			http.StatusBadRequest, "action_type is required"},
		{"to_user_id missing", func() reply { return send("action_type", "1", "content", "hi") },
			http.StatusBadRequest, "to_user_id is required"},
		{"to_user_id not whole", func() reply { return send("to_user_id", "1.5", "action_type", "1", "content", "hi") },
			http.StatusBadRequest, "whole number"},
		{"no token", func() reply {
			return post(t, "/douyin/message/action/", vals("to_user_id", to, "action_type", "1", "content", "hi"))
		}, http.StatusUnauthorized, "token is required"},
		{"pre_msg_time not a number", func() reply {
			return get(t, "/douyin/message/chat/", vals("token", a.Token, "to_user_id", to, "pre_msg_time", "yesterday"))
		}, http.StatusBadRequest, "pre_msg_time must be a Unix time"},
		{"pre_msg_time negative", func() reply {
			return get(t, "/douyin/message/chat/", vals("token", a.Token, "to_user_id", to, "pre_msg_time", "-5"))
		}, http.StatusBadRequest, "must not be negative"},
		{"chat with oneself", func() reply {
			return get(t, "/douyin/message/chat/", vals("token", a.Token, "to_user_id", strconv.FormatInt(a.ID, 10)))
		}, http.StatusBadRequest, "yourself"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fails(t, tc.r(), tc.status, tc.msg)
		})
	}

	require.Empty(t, history(t, a, b.ID, 0), "nothing was stored")
	require.Empty(t, history(t, b, a.ID, 0), "nothing was stored")

	// The limit counts characters, not bytes, after trimming.
	longest := strings.Repeat("字", 1000)
	m := sendMessage(t, a, b.ID, "  "+longest+"  ")
	require.Equal(t, longest, m.Content)
	require.Equal(t, []int64{m.ID}, messageIDs(history(t, b, a.ID, 0)))
}

func TestMessageServiceContract(t *testing.T) {
	spec := loadSpec(t, "services/message/api.yaml")
	a, b, c := signUp(t, "mca"), signUp(t, "mcb"), signUp(t, "mcc")
	post := func(path string, body any) reply {
		return invoke(t, spec, "message", http.MethodPost, path, body)
	}
	chat := func(viewer, peer int64, after string) reply {
		path := fmt.Sprintf("/v1/users/%d/chats/%d", viewer, peer)
		if after != "" {
			path += "?after=" + after
		}
		return invoke(t, spec, "message", http.MethodGet, path, nil)
	}

	lease := post("/v1/message-ids", nil)
	first, count := lease.Int("first_id"), lease.Int("count")
	require.Positive(t, first)
	require.Positive(t, count)
	next := post("/v1/message-ids", nil)
	require.GreaterOrEqual(t, next.Int("first_id"), first+count, "leases never overlap")

	now := time.Now().UnixMilli()
	msg := map[string]any{"id": first, "from_user_id": a.ID, "to_user_id": b.ID, "content": "contract",
		"sent_at": now}
	sent := post("/v1/messages", msg)
	require.Equal(t, first, sent.Int("message.id"))
	again := post("/v1/messages", msg)
	require.Equal(t, sent.Int("message.create_time"), again.Int("message.create_time"),
		"sending an id again answers with the stored message")
	for _, side := range [][2]int64{{a.ID, b.ID}, {b.ID, a.ID}} {
		list, _ := chat(side[0], side[1], "").Body["messages"].([]any)
		require.Len(t, list, 1, "the repeated send is stored once")
	}
	require.Empty(t, chat(a.ID, b.ID, strconv.FormatInt(sent.Int("message.create_time"), 10)).Body["messages"])

	refusals := []struct {
		body   map[string]any
		status int
	}{
		{map[string]any{"id": first + 1, "from_user_id": a.ID, "to_user_id": b.ID, "content": " ",
			"sent_at": now}, http.StatusBadRequest},
		{map[string]any{"id": first + 1, "from_user_id": a.ID, "to_user_id": a.ID, "content": "x",
			"sent_at": now}, http.StatusBadRequest},
		{map[string]any{"id": 0, "from_user_id": a.ID, "to_user_id": b.ID, "content": "x",
			"sent_at": now}, http.StatusBadRequest},
		{map[string]any{"id": first + 1, "from_user_id": a.ID, "to_user_id": b.ID, "content": "x",
			"sent_at": now - 3_600_000}, http.StatusBadRequest},
		{map[string]any{"id": first + 1, "from_user_id": a.ID, "to_user_id": 900719925474099, "content": "x",
			"sent_at": now}, http.StatusNotFound},
	}
	for _, r := range refusals {
		require.Equal(t, int64(r.status), post("/v1/messages", r.body).Code(), "%v", r.body)
	}
	require.Equal(t, int64(http.StatusBadRequest), chat(a.ID, a.ID, "").Code())
	require.Equal(t, int64(http.StatusBadRequest), chat(a.ID, b.ID, "soon").Code())

	// The latest message per peer, for many peers in one call, and whether
	// the viewer sent or received it.
	latest := func(viewer int64, peers ...int64) []map[string]any {
		r := post(fmt.Sprintf("/v1/users/%d/latest", viewer), map[string]any{"peer_ids": peers})
		raw, _ := r.Body["latest"].([]any)
		out := make([]map[string]any, 0, len(raw))
		for _, e := range raw {
			out = append(out, e.(map[string]any))
		}
		return out
	}
	num := func(v any) int64 { n, _ := v.(json.Number).Int64(); return n }
	msgField := func(e map[string]any, k string) any { return e["message"].(map[string]any)[k] }

	fromA := latest(a.ID, b.ID, c.ID, a.ID, b.ID, 900719925474099)
	require.Len(t, fromA, 1, "only peers with a conversation, once each")
	require.Equal(t, b.ID, num(fromA[0]["peer_id"]))
	require.Equal(t, int64(1), num(fromA[0]["msg_type"]), "a sent it")
	require.Equal(t, "contract", msgField(fromA[0], "content"))
	fromB := latest(b.ID, a.ID)
	require.Equal(t, int64(0), num(fromB[0]["msg_type"]), "b received it")

	reply := post("/v1/messages", map[string]any{"id": first + 2, "from_user_id": b.ID,
		"to_user_id": a.ID, "content": "reply", "sent_at": time.Now().UnixMilli()})
	require.Equal(t, first+2, reply.Int("message.id"))
	post("/v1/messages", map[string]any{"id": first + 3, "from_user_id": c.ID, "to_user_id": a.ID,
		"content": "from c", "sent_at": time.Now().UnixMilli()})
	fromA = latest(a.ID, b.ID, c.ID)
	require.Len(t, fromA, 2)
	require.Equal(t, []any{"reply", "from c"}, []any{msgField(fromA[0], "content"), msgField(fromA[1], "content")})
	require.Equal(t, []int64{0, 0}, []int64{num(fromA[0]["msg_type"]), num(fromA[1]["msg_type"])})
	require.Equal(t, []int64{1, 1}, []int64{num(fromA[0]["unread"]), num(fromA[1]["unread"])})
	fromB = latest(b.ID, a.ID)
	require.Equal(t, int64(1), num(fromB[0]["msg_type"]), "now b sent the latest one")
	require.Equal(t, "reply", msgField(fromB[0], "content"))

	chat(a.ID, b.ID, "")
	fromA = latest(a.ID, b.ID, c.ID)
	require.Equal(t, []int64{0, 1}, []int64{num(fromA[0]["unread"]), num(fromA[1]["unread"])},
		"reading a conversation clears its unread count only")

	require.Equal(t, int64(http.StatusBadRequest),
		post(fmt.Sprintf("/v1/users/%d/latest", a.ID), map[string]any{"peer_ids": make([]int64, 501)}).Code())
}

// publishMessageEvent publishes a message event through the gateway's
// sidecar, as the message service does, under the CloudEvent id ceID.
func publishMessageEvent(t *testing.T, ceID string, m chatMessage) {
	t.Helper()
	body, err := json.Marshal(m)
	require.NoError(t, err)
	u := fmt.Sprintf("http://127.0.0.1:%d/v1.0/publish/pubsub/message-events?metadata.cloudevent.id=%s",
		mesh.App("gateway").DaprHTTPPort, ceID)
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("dapr-api-token", mesh.DaprAPIToken())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "%s", raw)
}

func count(msgs []chatMessage, id int64) int {
	n := 0
	for _, m := range msgs {
		if m.ID == id {
			n++
		}
	}
	return n
}

// awaitPush waits until a push stream delivers the message id.
func awaitPush(t *testing.T, events <-chan sseEvent, id int64) {
	t.Helper()
	for {
		if ev := nextEvent(t, events); ev.Name == "message" && ev.ID == strconv.FormatInt(id, 10) {
			return
		}
	}
}

func TestChatRedeliveredEventIsStoredOnce(t *testing.T) {
	spec := loadSpec(t, "services/message/api.yaml")
	a, b := signUp(t, "redo"), signUp(t, "redo")
	first := invoke(t, spec, "message", http.MethodPost, "/v1/message-ids", nil).Int("first_id")
	// Every event that passes the broker reaches this stream too: seeing a
	// repeat here proves it went past the broker's own duplicate check.
	pushed := openStream(t, b)
	seenByBoth := func(id int64) func() bool {
		return func() bool {
			ha, errA := tryHistory(a, b.ID, 0)
			hb, errB := tryHistory(b, a.ID, 0)
			return errA == nil && errB == nil && count(ha, id) > 0 && count(hb, id) > 0
		}
	}
	storedOnce := func(want []int64) func() bool {
		return func() bool {
			for _, side := range [][2]account{{a, b}, {b, a}} {
				h, err := tryHistory(side[0], side[1].ID, 0)
				if err != nil || !assert.ObjectsAreEqual(want, messageIDs(h)) {
					return false
				}
			}
			return true
		}
	}

	// A message that only ever travels as an event reaches both users.
	ev := chatMessage{ID: first, FromUserID: a.ID, ToUserID: b.ID, Content: "delivered twice",
		CreateTime: time.Now().UnixMilli()}
	publishMessageEvent(t, strconv.FormatInt(ev.ID, 10), ev)
	awaitPush(t, pushed, ev.ID)
	require.Eventually(t, seenByBoth(ev.ID), 15*time.Second, 50*time.Millisecond)

	// The broker drops a repeat under the same CloudEvent id within its
	// duplicate window. A repeat it cannot recognise (a redelivery after a
	// lost acknowledgement, a publish retried later) reaches the consumers:
	// here the same message under other CloudEvent ids, once for the
	// event-only message and once for a message sent through the gateway.
	sent := sendMessage(t, b, a.ID, "sent once")
	awaitPush(t, pushed, sent.ID)
	publishMessageEvent(t, fmt.Sprintf("%d-again", ev.ID), ev)
	awaitPush(t, pushed, ev.ID)
	publishMessageEvent(t, fmt.Sprintf("%d-again", sent.ID), chatMessage{ID: sent.ID,
		FromUserID: b.ID, ToUserID: a.ID, Content: sent.Content, CreateTime: sent.CreateTime})
	awaitPush(t, pushed, sent.ID)
	marker := chatMessage{ID: first + 1, FromUserID: a.ID, ToUserID: b.ID, Content: "marker",
		CreateTime: time.Now().UnixMilli()}
	publishMessageEvent(t, strconv.FormatInt(marker.ID, 10), marker)
	require.Eventually(t, seenByBoth(marker.ID), 15*time.Second, 50*time.Millisecond)
	want := []int64{ev.ID, sent.ID, marker.ID}
	require.True(t, storedOnce(want)(), "each message is stored once")
	require.Never(t, func() bool { return !storedOnce(want)() }, time.Second, 100*time.Millisecond)

	// Much later, when the first message has moved to a full page and out
	// of the actors' memory of recent ids, it comes once more.
	for i := range 70 {
		want = append(want, sendMessage(t, a, b.ID, fmt.Sprintf("later %d", i)).ID)
	}
	publishMessageEvent(t, fmt.Sprintf("%d-later", ev.ID), ev)
	awaitPush(t, pushed, ev.ID)
	marker2 := chatMessage{ID: first + 2, FromUserID: b.ID, ToUserID: a.ID, Content: "marker 2",
		CreateTime: time.Now().UnixMilli()}
	publishMessageEvent(t, strconv.FormatInt(marker2.ID, 10), marker2)
	require.Eventually(t, seenByBoth(marker2.ID), 15*time.Second, 50*time.Millisecond)
	want = append(want, marker2.ID)
	require.True(t, storedOnce(want)(), "the old message is still stored once, in its place")
	require.Never(t, func() bool { return !storedOnce(want)() }, time.Second, 100*time.Millisecond)
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	Name, ID, Data string
}

// openStream opens u's push stream and returns its events; the stream is
// registered once the function returns.
func openStream(t *testing.T, u account) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		mesh.GatewayURL()+"/douyin/message/stream/?token="+u.Token, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))

	events := make(chan sseEvent, 1024)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" {
					select {
					case events <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	require.Equal(t, "ready", nextEvent(t, events).Name)
	return events
}

func nextEvent(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		require.True(t, ok, "stream ended")
		return ev
	case <-time.After(15 * time.Second):
		require.FailNow(t, "no event on the push stream")
		return sseEvent{}
	}
}

func TestChatPushStreamDeliversNewMessages(t *testing.T) {
	a, b, c := signUp(t, "push"), signUp(t, "push"), signUp(t, "push")

	fails(t, get(t, "/douyin/message/stream/", vals()), http.StatusUnauthorized, "token is required")
	fails(t, get(t, "/douyin/message/stream/", vals("token", "forged")), http.StatusUnauthorized, "token is invalid")

	toB, toA := openStream(t, b), openStream(t, a)
	m := sendMessage(t, a, b.ID, "pushed to Bob")
	for _, stream := range []<-chan sseEvent{toB, toA} {
		ev := nextEvent(t, stream)
		require.Equal(t, "message", ev.Name)
		require.Equal(t, strconv.FormatInt(m.ID, 10), ev.ID)
		var got chatMessage
		require.NoError(t, json.Unmarshal([]byte(ev.Data), &got))
		assert.Equal(t, []any{m.ID, a.ID, b.ID, m.Content}, []any{got.ID, got.FromUserID, got.ToUserID, got.Content})
	}

	// Others' conversations do not reach a stream.
	sendMessage(t, c, a.ID, "not for Bob")
	other := sendMessage(t, a, b.ID, "for Bob again")
	ev := nextEvent(t, toB)
	require.Equal(t, strconv.FormatInt(other.ID, 10), ev.ID, "only Bob's messages reach Bob")
}

// hostedChats returns how many chat actors are active on an instance,
// from its sidecar's metadata.
func hostedChats(t *testing.T, name string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet,
		fmt.Sprintf("http://127.0.0.1:%d/v1.0/metadata", mesh.App(name).DaprHTTPPort), nil)
	require.NoError(t, err)
	req.Header.Set("dapr-api-token", mesh.DaprAPIToken())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var md struct {
		ActorRuntime struct {
			ActiveActors []struct {
				Type  string `json:"type"`
				Count int    `json:"count"`
			} `json:"activeActors"`
		} `json:"actorRuntime"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
	for _, a := range md.ActorRuntime.ActiveActors {
		if a.Type == "UserChat" {
			return a.Count
		}
	}
	return 0
}

func TestChatSurvivesTheLossOfAMessageInstance(t *testing.T) {
	instances := mesh.Instances("message")
	require.Len(t, instances, 2, "dapr.yaml runs two message instances")
	victim := instances[1].Name

	// Enough conversations that both instances host chat actors.
	type pair struct{ a, b account }
	pairs := make([]pair, 8)
	sent := map[int][]int64{}
	for i := range pairs {
		pairs[i] = pair{signUp(t, "ha"), signUp(t, "hb")}
		sent[i] = append(sent[i], sendMessage(t, pairs[i].a, pairs[i].b.ID, "before").ID)
	}
	for _, in := range instances {
		require.Positive(t, hostedChats(t, in.Name), "instance %s hosts chat actors", in.Name)
	}
	check := func(stage string) {
		t.Helper()
		for i, p := range pairs {
			require.Equal(t, sent[i], messageIDs(history(t, p.a, p.b.ID, 0)), "%s: pair %d, first user", stage, i)
			require.Equal(t, sent[i], messageIDs(history(t, p.b, p.a.ID, 0)), "%s: pair %d, second user", stage, i)
		}
	}

	// The instance and its sidecar die at once, while every pair is
	// chatting. No confirmed message is lost or doubled; a send that failed
	// may or may not have gone out, but never twice. The chat actors that
	// lived there start again on the survivor from the store.
	bursts := make([]chatBurst, len(pairs))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bursts[i] = sendUntil(stop, p.a, p.b)
		}()
	}
	time.Sleep(500 * time.Millisecond)
	mesh.KillInstance(victim)
	t.Cleanup(func() {
		if err := mesh.StartApp(context.Background(), victim); err != nil {
			t.Errorf("restart %s: %v", victim, err)
		}
	})
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	for i, p := range pairs {
		got := history(t, p.a, p.b.ID, 0)
		bursts[i].check(t, sent[i], got)
		t.Logf("pair %d: %d sends confirmed, %d failed while the instance died",
			i, len(bursts[i].confirmed), len(bursts[i].failed))
		sent[i] = messageIDs(got)
	}
	check("after the loss in flight")

	for i, p := range pairs {
		sent[i] = append(sent[i], sendMessage(t, p.b, p.a.ID, "after the loss").ID)
	}
	check("after the loss")
	require.Positive(t, hostedChats(t, instances[0].Name))

	// The instance comes back; actors move back to it, start from the store
	// there, and the chat stays exact.
	require.NoError(t, mesh.StartApp(context.Background(), victim))
	require.Eventually(t, func() bool {
		for _, p := range pairs {
			if _, err := tryHistory(p.a, p.b.ID, 0); err != nil {
				return false
			}
		}
		return hostedChats(t, victim) > 0
	}, 30*time.Second, 200*time.Millisecond, "actors move back to the restarted instance")
	for i, p := range pairs {
		sent[i] = append(sent[i], sendMessage(t, p.a, p.b.ID, "after the return").ID)
	}
	check("after the return")
}

// chatBurst is what one pair's sender saw: the ids of the sends that were
// confirmed, in order, and the contents of those that failed.
type chatBurst struct {
	confirmed []int64
	failed    map[string]bool
}

// sendUntil sends messages back and forth between a and b, one at a time,
// until stop is closed.
func sendUntil(stop <-chan struct{}, a, b account) chatBurst {
	out := chatBurst{failed: map[string]bool{}}
	for k := 0; ; k++ {
		select {
		case <-stop:
			return out
		default:
		}
		from, to := a, b
		if k%2 == 1 {
			from, to = b, a
		}
		content := "in flight " + strconv.Itoa(k)
		m, err := trySend(from, to.ID, content)
		if err != nil {
			out.failed[content] = true
			continue
		}
		out.confirmed = append(out.confirmed, m.ID)
	}
}

// check compares a history with the burst: it starts with before, holds
// every confirmed message once and in order, and nothing else but at most
// one copy of some failed sends.
func (cb chatBurst) check(t *testing.T, before []int64, got []chatMessage) {
	t.Helper()
	ids := messageIDs(got)
	require.GreaterOrEqual(t, len(ids), len(before))
	require.Equal(t, before, ids[:len(before)], "what was there before is kept")
	confirmed := map[int64]bool{}
	for _, id := range cb.confirmed {
		confirmed[id] = true
	}
	var kept []int64
	seen := map[string]bool{}
	for _, m := range got[len(before):] {
		if confirmed[m.ID] {
			kept = append(kept, m.ID)
			continue
		}
		require.True(t, cb.failed[m.Content], "message %d (%q) was neither confirmed nor tried", m.ID, m.Content)
		require.False(t, seen[m.Content], "a failed send %q is stored twice", m.Content)
		seen[m.Content] = true
	}
	require.Equal(t, cb.confirmed, kept, "every confirmed message once, in order")
}
