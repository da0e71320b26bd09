package message

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/dapr/go-sdk/actor"
	dapr "github.com/dapr/go-sdk/client"
)

// Keys of a chat actor's state. Dapr scopes them to the actor, so they only
// name the peer, the page or the message. Every document is bounded: a
// conversation head holds at most PageSize messages, a page exactly
// PageSize, a seen record one id.
func headKey(peer int64) string { return "conv-" + strconv.FormatInt(peer, 10) }

func pageKey(peer int64, n int) string {
	return "page-" + strconv.FormatInt(peer, 10) + "-" + strconv.Itoa(n)
}

func seenKey(id int64) string { return "seen-" + strconv.FormatInt(id, 10) }

// head is the document of one conversation in one user's actor: where its
// pages are, the open page (the tail) and the unread count. A poll for new
// messages reads it alone.
type head struct {
	// Sealed is the number of full pages, numbered from 0.
	Sealed int `json:"sealed"`
	// First is the CreateTime of the oldest message, 0 when there is none.
	First int64 `json:"first"`
	// SealedLast is the CreateTime of the newest message in a full page.
	SealedLast int64 `json:"sealed_last"`
	// Tail holds the newest messages, oldest first, at most PageSize; it is
	// never empty once the conversation has a message.
	Tail []Message `json:"tail"`
	// Unread counts messages received since the owner last read the history.
	Unread int `json:"unread"`
}

func (h *head) last() (Message, bool) {
	if len(h.Tail) == 0 {
		return Message{}, false
	}
	return h.Tail[len(h.Tail)-1], true
}

func (h *head) find(id int64) (Message, bool) {
	for _, m := range h.Tail {
		if m.ID == id {
			return m, true
		}
	}
	return Message{}, false
}

// page is a full, never changing page of a conversation.
type page struct {
	Messages []Message `json:"messages"`
}

// seen records that a message id is stored in this actor: with whom and
// under which CreateTime.
type seen struct {
	Peer       int64 `json:"peer"`
	CreateTime int64 `json:"create_time"`
}

// Arguments and replies of the chat actor's methods. They travel as JSON.
type (
	// StoreArgs asks an actor to store a message its owner sent or received.
	StoreArgs struct {
		Message Message `json:"message"`
	}
	// StoreReply is the message as stored in the owner's copy; Duplicate
	// says it was stored before.
	StoreReply struct {
		Message   Message `json:"message"`
		Duplicate bool    `json:"duplicate"`
		// Refused says the owner is not a party of the message.
		Refused bool `json:"refused"`
	}
	// HistoryArgs asks for the messages with Peer after a time.
	HistoryArgs struct {
		Peer  int64 `json:"peer"`
		After int64 `json:"after"`
		Limit int   `json:"limit"`
	}
	// HistoryReply lists messages oldest first.
	HistoryReply struct {
		Messages []Message `json:"messages"`
	}
	// LatestArgs asks for the newest message with each of Peers.
	LatestArgs struct {
		Peers []int64 `json:"peers"`
	}
	// LatestReply has one entry per peer with a conversation.
	LatestReply struct {
		Latest []Latest `json:"latest"`
	}
)

// ActorState is what a chat actor needs from the Dapr client for its own
// state; the go-sdk client provides it.
type ActorState interface {
	GetActorState(ctx context.Context, in *dapr.GetActorStateRequest) (*dapr.GetActorStateResponse, error)
	SaveStateTransactionally(ctx context.Context, actorType, actorID string,
		operations []*dapr.ActorStateOperation) error
}

// recentSize bounds how many recently stored ids an active actor remembers,
// so that the event that follows a send finds its id without a read even
// once the tail has moved on.
const recentSize = 64

// loadParallelism bounds the concurrent state reads of one actor call.
const loadParallelism = 8

// maxHeads bounds how many conversation heads an active actor keeps in
// memory: a head holds up to PageSize messages, and an actor kept active by
// polls may be asked about any number of peers.
const maxHeads = 64

// UserChat is the actor holding one user's chats; its id is the user id.
// The sidecar runs one call at a time per actor, and an actor is active on
// one instance at a time, so it keeps the heads it has read in memory and
// is the only writer of its state. A failed write drops the head it touched
// from memory, to be read again.
type UserChat struct {
	actor.ServerImplBaseCtx
	state ActorState

	// mu holds a call's turn within the app too: a sidecar that gave up
	// on a call (a timeout) lets the next one in while the app may still
	// be running the first.
	mu     sync.Mutex
	heads  map[int64]*head
	recent map[int64]seen
	order  []int64
}

// NewUserChatFactory returns the factory the actor host activates chat
// actors with.
func NewUserChatFactory(state ActorState) actor.FactoryContext {
	return func() actor.ServerContext {
		return &UserChat{state: state, heads: map[int64]*head{}, recent: map[int64]seen{}}
	}
}

// Type returns ActorType.
func (a *UserChat) Type() string { return ActorType }

func (a *UserChat) owner() (int64, error) {
	id, err := strconv.ParseInt(a.ID(), 10, 64)
	if err != nil || id <= 0 {
		return 0, errBadActorID
	}
	return id, nil
}

// Store adds a message the owner sent or received to the owner's copy of
// the conversation, once per message id. A new message gets the later of
// its send time and one millisecond after the conversation's newest message
// as its CreateTime.
func (a *UserChat) Store(ctx context.Context, args StoreArgs) (StoreReply, error) {
	owner, err := a.owner()
	if err != nil {
		return StoreReply{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	m := args.Message
	peer, ok := peerOf(m, owner)
	if !ok {
		return StoreReply{Refused: true}, nil
	}

	h, err := a.head(ctx, peer)
	if err != nil {
		return StoreReply{}, err
	}
	if stored, ok := h.find(m.ID); ok {
		return StoreReply{Message: stored, Duplicate: true}, nil
	}
	if s, ok := a.recent[m.ID]; ok {
		m.CreateTime = s.CreateTime
		return StoreReply{Message: m, Duplicate: true}, nil
	}
	if mayBeInPages(h, m) {
		s, ok, err := a.seen(ctx, m.ID)
		if err != nil {
			return StoreReply{}, err
		}
		if ok {
			m.CreateTime = s.CreateTime
			a.remember(m.ID, s)
			return StoreReply{Message: m, Duplicate: true}, nil
		}
	}

	if last, ok := h.last(); ok && m.CreateTime <= last.CreateTime {
		m.CreateTime = last.CreateTime + 1
	}
	next, ops, err := appendMessage(h, peer, m, owner)
	if err != nil {
		return StoreReply{}, err
	}
	if err := a.commit(ctx, ops); err != nil {
		delete(a.heads, peer)
		return StoreReply{}, err
	}
	a.keep(peer, next)
	a.remember(m.ID, seen{Peer: peer, CreateTime: m.CreateTime})
	return StoreReply{Message: m}, nil
}

// mayBeInPages reports whether m, not in the tail, may still be stored in a
// full page, so that only then its seen record must be read. A stored
// copy's CreateTime is at least the send time, which every request and
// event for one message id carries alike, and every message in the pages
// is older than the tail's first one: a message sent no earlier than that
// one is either in the tail or new.
func mayBeInPages(h *head, m Message) bool {
	return len(h.Tail) > 0 && m.CreateTime < h.Tail[0].CreateTime
}

// appendMessage returns the head after m is appended and the writes that
// make it so: the head, the seen record and, when the tail was full, the
// page it becomes.
func appendMessage(h *head, peer int64, m Message, owner int64) (*head, []*dapr.ActorStateOperation, error) {
	next := &head{Sealed: h.Sealed, First: h.First, SealedLast: h.SealedLast, Unread: h.Unread}
	var ops []*dapr.ActorStateOperation
	if len(h.Tail) >= PageSize {
		raw, err := json.Marshal(page{Messages: h.Tail})
		if err != nil {
			return nil, nil, fmt.Errorf("encode page: %w", err)
		}
		ops = append(ops, upsert(pageKey(peer, h.Sealed), raw))
		next.Sealed++
		next.SealedLast = h.Tail[len(h.Tail)-1].CreateTime
		next.Tail = []Message{m}
	} else {
		next.Tail = append(slices.Clip(h.Tail), m)
	}
	if next.First == 0 {
		next.First = m.CreateTime
	}
	if m.ToUserID == owner {
		next.Unread++
	}

	rawHead, err := json.Marshal(next)
	if err != nil {
		return nil, nil, fmt.Errorf("encode conversation head: %w", err)
	}
	rawSeen, err := json.Marshal(seen{Peer: peer, CreateTime: m.CreateTime})
	if err != nil {
		return nil, nil, fmt.Errorf("encode seen record: %w", err)
	}
	ops = append(ops, upsert(headKey(peer), rawHead), upsert(seenKey(m.ID), rawSeen))
	return next, ops, nil
}

// History returns the owner's messages with a peer whose CreateTime is
// after args.After, oldest first, at most args.Limit of them, and marks the
// conversation read. A poll for new messages reads the head alone, from
// memory once the actor is active; an older time costs a binary search over
// the pages and one read per page returned.
func (a *UserChat) History(ctx context.Context, args HistoryArgs) (HistoryReply, error) {
	if _, err := a.owner(); err != nil {
		return HistoryReply{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	limit := args.Limit
	if limit <= 0 || limit > HistoryLimit {
		limit = HistoryLimit
	}
	h, err := a.head(ctx, args.Peer)
	if err != nil {
		return HistoryReply{}, err
	}
	msgs, err := a.collect(ctx, args.Peer, h, args.After, limit)
	if err != nil {
		return HistoryReply{}, err
	}

	if h.Unread > 0 {
		read := *h
		read.Unread = 0
		raw, err := json.Marshal(&read)
		if err != nil {
			return HistoryReply{}, fmt.Errorf("encode conversation head: %w", err)
		}
		if err := a.commit(ctx, []*dapr.ActorStateOperation{upsert(headKey(args.Peer), raw)}); err != nil {
			delete(a.heads, args.Peer)
			return HistoryReply{}, err
		}
		a.keep(args.Peer, &read)
	}
	return HistoryReply{Messages: msgs}, nil
}

// collect gathers the messages after a time from the pages and the tail.
func (a *UserChat) collect(ctx context.Context, peer int64, h *head, after int64, limit int) ([]Message, error) {
	out := make([]Message, 0)
	if h.Sealed > 0 && after < h.SealedLast {
		start, err := a.firstPageAfter(ctx, peer, h, after)
		if err != nil {
			return nil, err
		}
		for n := start; n < h.Sealed && len(out) < limit; n++ {
			p, err := a.page(ctx, peer, n)
			if err != nil {
				return nil, err
			}
			out = appendAfter(out, p.Messages, after, limit)
		}
	}
	return appendAfter(out, h.Tail, after, limit), nil
}

// firstPageAfter finds the first full page holding a message after the
// given time, knowing that one exists. Pages hold strictly increasing times,
// so a binary search reads O(log pages) of them.
func (a *UserChat) firstPageAfter(ctx context.Context, peer int64, h *head, after int64) (int, error) {
	if after < h.First {
		return 0, nil
	}
	lo, hi := 0, h.Sealed-1
	for lo < hi {
		mid := (lo + hi) / 2
		p, err := a.page(ctx, peer, mid)
		if err != nil {
			return 0, err
		}
		if len(p.Messages) > 0 && p.Messages[len(p.Messages)-1].CreateTime > after {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

func appendAfter(out, msgs []Message, after int64, limit int) []Message {
	for _, m := range msgs {
		if len(out) >= limit {
			break
		}
		if m.CreateTime > after {
			out = append(out, m)
		}
	}
	return out
}

// Latest returns the newest message with each peer the owner has a
// conversation with; peers without one are left out.
func (a *UserChat) Latest(ctx context.Context, args LatestArgs) (LatestReply, error) {
	owner, err := a.owner()
	if err != nil {
		return LatestReply{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	heads, err := a.loadHeads(ctx, args.Peers)
	if err != nil {
		return LatestReply{}, err
	}
	out := make([]Latest, 0, len(args.Peers))
	for _, peer := range args.Peers {
		h := heads[peer]
		m, ok := h.last()
		if !ok {
			continue
		}
		typ := Received
		if m.FromUserID == owner {
			typ = Sent
		}
		out = append(out, Latest{PeerID: peer, Message: m, MsgType: typ, Unread: h.Unread})
	}
	return LatestReply{Latest: out}, nil
}

// head returns the conversation head with peer, from memory or the store.
func (a *UserChat) head(ctx context.Context, peer int64) (*head, error) {
	if h, ok := a.heads[peer]; ok {
		return h, nil
	}
	heads, err := a.loadHeads(ctx, []int64{peer})
	if err != nil {
		return nil, err
	}
	return heads[peer], nil
}

// keep remembers the head of the conversation with peer, forgetting
// another one when memory holds maxHeads already.
func (a *UserChat) keep(peer int64, h *head) {
	if _, ok := a.heads[peer]; !ok && len(a.heads) >= maxHeads {
		for other := range a.heads {
			delete(a.heads, other)
			break
		}
	}
	a.heads[peer] = h
}

// loadHeads returns the heads of peers, reading those not in memory a few
// at a time.
func (a *UserChat) loadHeads(ctx context.Context, peers []int64) (map[int64]*head, error) {
	out := make(map[int64]*head, len(peers))
	var missing []int64
	for _, p := range peers {
		if h, ok := a.heads[p]; ok {
			out[p] = h
		} else if !slices.Contains(missing, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}

	loaded := make([]*head, len(missing))
	errs := make([]error, len(missing))
	sem := make(chan struct{}, loadParallelism)
	var wg sync.WaitGroup
	for i, p := range missing {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			h := &head{}
			if _, err := a.read(ctx, headKey(p), h); err != nil {
				errs[i] = err
				return
			}
			loaded[i] = h
		}()
	}
	wg.Wait()
	for i, p := range missing {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out[p] = loaded[i]
		a.keep(p, loaded[i])
	}
	return out, nil
}

func (a *UserChat) page(ctx context.Context, peer int64, n int) (page, error) {
	var p page
	ok, err := a.read(ctx, pageKey(peer, n), &p)
	if err != nil {
		return page{}, err
	}
	if !ok {
		return page{}, fmt.Errorf("read chat page %d with %d: page is missing", n, peer)
	}
	return p, nil
}

func (a *UserChat) seen(ctx context.Context, id int64) (seen, bool, error) {
	var s seen
	ok, err := a.read(ctx, seenKey(id), &s)
	return s, ok, err
}

// remember keeps a stored id in the bounded set of recent ids.
func (a *UserChat) remember(id int64, s seen) {
	if _, ok := a.recent[id]; ok {
		return
	}
	if len(a.order) >= recentSize {
		delete(a.recent, a.order[0])
		a.order = a.order[1:]
	}
	a.recent[id] = s
	a.order = append(a.order, id)
}

// read decodes the actor's state under key into v and reports whether the
// key exists.
func (a *UserChat) read(ctx context.Context, key string, v any) (bool, error) {
	resp, err := a.state.GetActorState(ctx, &dapr.GetActorStateRequest{
		ActorType: ActorType, ActorID: a.ID(), KeyName: key,
	})
	if err != nil {
		return false, fmt.Errorf("read chat state %s of user %s: %w", key, a.ID(), err)
	}
	if resp == nil || len(resp.Data) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(resp.Data, v); err != nil {
		return false, fmt.Errorf("decode chat state %s of user %s: %w", key, a.ID(), err)
	}
	return true, nil
}

// commit writes ops in one transaction.
func (a *UserChat) commit(ctx context.Context, ops []*dapr.ActorStateOperation) error {
	if err := a.state.SaveStateTransactionally(ctx, ActorType, a.ID(), ops); err != nil {
		return fmt.Errorf("save chat state of user %s: %w", a.ID(), err)
	}
	return nil
}

func upsert(key string, value []byte) *dapr.ActorStateOperation {
	return &dapr.ActorStateOperation{OperationType: "upsert", Key: key, Value: value}
}
