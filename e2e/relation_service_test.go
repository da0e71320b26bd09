package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/douvo/douvo/internal/contract"
	"github.com/douvo/douvo/services/relation"
)

// ghostIDs returns n user ids no account has, for followers driven through
// the relation service's internal API, which trusts its caller for the
// follower. They stay below 2^53 and differ between calls.
func ghostIDs(n int) []int64 {
	base := int64(1)<<40 + nameSeq.Add(1)*1_000_000
	out := make([]int64, n)
	for i := range out {
		out[i] = base + int64(i)
	}
	return out
}

func edgePath(a, b int64) string { return fmt.Sprintf("/v1/users/%d/following/%d", a, b) }

// internalPage reads a page of a list through the internal API.
func internalPage(t *testing.T, spec *contract.Spec, user int64, list relation.List, limit int, cursor string) relation.Page {
	t.Helper()
	path := fmt.Sprintf("/v1/users/%d/%s?limit=%d", user, list, limit)
	if cursor != "" {
		path += "&cursor=" + cursor
	}
	r := invoke(t, spec, "relation", http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, r.HTTPStatus, "%s", r.Raw)
	var p relation.Page
	require.NoError(t, json.Unmarshal(r.Raw, &p))
	return p
}

// internalList reads a whole list through the internal API, page by page.
func internalList(t *testing.T, spec *contract.Spec, user int64, list relation.List, limit int) []int64 {
	t.Helper()
	var all []int64
	cursor := ""
	for range 1000 {
		p := internalPage(t, spec, user, list, limit, cursor)
		all = append(all, p.IDs...)
		if p.Next == "" {
			return all
		}
		cursor = p.Next
	}
	t.Fatal("list paging did not end")
	return nil
}

// followerCount reads a user's follower_count through the batch call.
func followerCount(t *testing.T, spec *contract.Spec, user int64) int64 {
	t.Helper()
	r := invoke(t, spec, "relation", http.MethodPost, "/v1/relations/batch",
		map[string]any{"ids": []int64{user}})
	require.Equal(t, http.StatusOK, r.HTTPStatus, "%s", r.Raw)
	var body relation.BatchResponse
	require.NoError(t, json.Unmarshal(r.Raw, &body))
	require.Len(t, body.Relations, 1)
	return body.Relations[0].FollowerCount
}

func reversed(s []int64) []int64 {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func TestRelationServiceContract(t *testing.T) {
	spec := loadSpec(t, "services/relation/api.yaml")
	ann, bob := signUp(t, "ann"), signUp(t, "bob")

	first := invoke(t, spec, "relation", http.MethodPut, edgePath(ann.ID, bob.ID), nil)
	require.Equal(t, http.StatusOK, first.HTTPStatus, "%s", first.Raw)
	assert.Equal(t, true, first.Body["changed"])
	again := invoke(t, spec, "relation", http.MethodPut, edgePath(ann.ID, bob.ID), nil)
	assert.Equal(t, false, again.Body["changed"], "a repeated follow changes nothing")
	assert.Equal(t, true, again.Body["following"])

	self := invoke(t, spec, "relation", http.MethodPut, edgePath(ann.ID, ann.ID), nil)
	assert.Equal(t, int64(http.StatusBadRequest), self.Code())
	unknown := invoke(t, spec, "relation", http.MethodPut, edgePath(ann.ID, 900719925474099), nil)
	assert.Equal(t, int64(http.StatusNotFound), unknown.Code())
	zero := invoke(t, spec, "relation", http.MethodPut, "/v1/users/0/following/1", nil)
	assert.Equal(t, int64(http.StatusBadRequest), zero.Code())

	page := internalPage(t, spec, ann.ID, relation.Following, 10, "")
	assert.Equal(t, []int64{bob.ID}, page.IDs)
	assert.Empty(t, page.Next)
	for _, bad := range []string{"?limit=0", "?limit=501", "?limit=x", "?cursor=1"} {
		r := invoke(t, spec, "relation", http.MethodGet, fmt.Sprintf("/v1/users/%d/followers%s", bob.ID, bad), nil)
		assert.Equal(t, int64(http.StatusBadRequest), r.Code(), "%s: %s", bad, r.Raw)
	}
	badList := invoke(t, spec, "relation", http.MethodGet, fmt.Sprintf("/v1/users/%d/enemies", bob.ID), nil)
	assert.Equal(t, int64(http.StatusBadRequest), badList.Code())

	batch := invoke(t, spec, "relation", http.MethodPost, "/v1/relations/batch",
		map[string]any{"viewer": ann.ID, "ids": []int64{bob.ID, ann.ID, bob.ID}})
	var rels relation.BatchResponse
	require.NoError(t, json.Unmarshal(batch.Raw, &rels))
	require.Len(t, rels.Relations, 3, "one relation per id, duplicates included")
	assert.Equal(t, relation.Relation{ID: bob.ID, FollowerCount: 1, IsFollow: true}, rels.Relations[0])
	assert.Equal(t, relation.Relation{ID: ann.ID, FollowCount: 1}, rels.Relations[1])
	tooMany := invoke(t, spec, "relation", http.MethodPost, "/v1/relations/batch",
		map[string]any{"ids": make([]int64, relation.MaxBatch+1)})
	assert.Equal(t, int64(http.StatusBadRequest), tooMany.Code())

	gone := invoke(t, spec, "relation", http.MethodDelete, edgePath(ann.ID, bob.ID), nil)
	assert.Equal(t, true, gone.Body["changed"])
	assert.Equal(t, false, gone.Body["following"])
	goneAgain := invoke(t, spec, "relation", http.MethodDelete, edgePath(ann.ID, bob.ID), nil)
	assert.Equal(t, false, goneAgain.Body["changed"])
}

// TestFollowerListSpansPagesExactly fills several list pages, empties a
// middle one (which unlinks it) while a reader holds a cursor into it, and
// checks that every read, including the one resuming from that cursor,
// returns exactly the live followers, newest first, without repeats.
func TestFollowerListSpansPagesExactly(t *testing.T) {
	spec := loadSpec(t, "services/relation/api.yaml")
	star := signUp(t, "star")
	n := 2*relation.PageSize + relation.PageSize/2
	fans := ghostIDs(n)
	for _, fan := range fans {
		r := invoke(t, spec, "relation", http.MethodPut, edgePath(fan, star.ID), nil)
		require.Equal(t, http.StatusOK, r.HTTPStatus, "%s", r.Raw)
	}
	require.Equal(t, reversed(fans), internalList(t, spec, star.ID, relation.Followers, 70))
	require.Equal(t, int64(n), followerCount(t, spec, star.ID))

	// Read past the head page into the middle page, then empty that page.
	first := internalPage(t, spec, star.ID, relation.Followers, relation.PageSize, "")
	require.NotEmpty(t, first.Next)
	seen := len(first.IDs)
	middle := fans[relation.PageSize : 2*relation.PageSize]
	for _, fan := range middle {
		r := invoke(t, spec, "relation", http.MethodDelete, edgePath(fan, star.ID), nil)
		require.Equal(t, http.StatusOK, r.HTTPStatus, "%s", r.Raw)
	}
	live := slices.Concat(fans[:relation.PageSize], fans[2*relation.PageSize:])

	rest := internalList(t, spec, star.ID, relation.Followers, relation.PageSize)
	assert.Equal(t, reversed(live), rest, "the emptied page is gone from the list")
	resumed := internalPage(t, spec, star.ID, relation.Followers, relation.MaxLimit, first.Next)
	var wantResumed []int64
	for _, id := range reversed(fans)[seen:] {
		if !slices.Contains(middle, id) {
			wantResumed = append(wantResumed, id)
		}
	}
	assert.Equal(t, wantResumed, resumed.IDs, "a cursor into an unlinked page resumes where it was")
	assert.Empty(t, resumed.Next)
	assert.Equal(t, int64(len(live)), followerCount(t, spec, star.ID))

	// The emptied positions are not reused out of order: new followers
	// come first.
	late := ghostIDs(3)
	for _, fan := range late {
		invoke(t, spec, "relation", http.MethodPut, edgePath(fan, star.ID), nil)
	}
	assert.Equal(t, slices.Concat(reversed(late), reversed(live)),
		internalList(t, spec, star.ID, relation.Followers, 150))
}

// TestFollowBurstOnOneAccountIsExact has many followers follow one account
// at once, then half of them unfollow at once, through the internal API,
// and checks the counter and the list after each wave.
func TestFollowBurstOnOneAccountIsExact(t *testing.T) {
	spec := loadSpec(t, "services/relation/api.yaml")
	star := signUp(t, "star")
	fans := ghostIDs(300)

	wave := func(method string, ids []int64) {
		var wg sync.WaitGroup
		work := make(chan int64)
		for range 24 {
			wg.Go(func() {
				for fan := range work {
					r := invoke(t, spec, "relation", method, edgePath(fan, star.ID), nil)
					assert.Equal(t, http.StatusOK, r.HTTPStatus, "%s", r.Raw)
					assert.Equal(t, true, r.Body["changed"], "%s", r.Raw)
				}
			})
		}
		for _, fan := range ids {
			work <- fan
		}
		close(work)
		wg.Wait()
	}

	wave(http.MethodPut, fans)
	assert.Equal(t, int64(len(fans)), followerCount(t, spec, star.ID))
	got := internalList(t, spec, star.ID, relation.Followers, relation.MaxLimit)
	assert.ElementsMatch(t, fans, got)

	var leaving, staying []int64
	for i, fan := range fans {
		if i%2 == 0 {
			leaving = append(leaving, fan)
		} else {
			staying = append(staying, fan)
		}
	}
	wave(http.MethodDelete, leaving)
	assert.Equal(t, int64(len(staying)), followerCount(t, spec, star.ID))
	got = internalList(t, spec, star.ID, relation.Followers, relation.MaxLimit)
	assert.ElementsMatch(t, staying, got)
	// Newest first: the list keeps the order in which the stayers joined.
	joined := internalList(t, spec, star.ID, relation.Followers, 7)
	assert.Equal(t, got, joined, "pages of any length give the same order")
}

// eventHub is the test run's one subscription to relation events, opened
// through the gateway's sidecar as a consuming service would, and shared
// by the tests that watch events: a new streaming subscription right after
// another one on the same sidecar and topic closed can wait minutes for its
// durable consumer.
type eventHub struct {
	mu       sync.Mutex
	watchers map[*watcher]bool
}

type watcher struct {
	keep func(relation.Event) bool
	ch   chan relation.Event
	done chan struct{}
}

var (
	hubOnce sync.Once
	hub     *eventHub
	hubErr  error
)

// watchEvents returns the relation events that keep accepts, from now until
// the test ends. Events already published may arrive too.
func watchEvents(t *testing.T, keep func(relation.Event) bool) <-chan relation.Event {
	t.Helper()
	hubOnce.Do(func() { hub, hubErr = openHub() })
	require.NoError(t, hubErr)
	w := &watcher{keep: keep, ch: make(chan relation.Event, 64), done: make(chan struct{})}
	hub.mu.Lock()
	hub.watchers[w] = true
	hub.mu.Unlock()
	t.Cleanup(func() {
		hub.mu.Lock()
		delete(hub.watchers, w)
		hub.mu.Unlock()
		close(w.done)
	})
	return w.ch
}

// openHub subscribes and starts handing events to the watchers. Every event
// is acknowledged once handed over or skipped. The subscription lives as
// long as the test process.
func openHub() (*eventHub, error) {
	withToken := func(ctx context.Context) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "dapr-api-token", mesh.DaprAPIToken())
	}
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", mesh.App("gateway").DaprGRPCPort),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn,
			method string, streamer grpc.Streamer, opts ...grpc.CallOption,
		) (grpc.ClientStream, error) {
			return streamer(withToken(ctx), desc, cc, method, opts...)
		}))
	if err != nil {
		return nil, err
	}
	client := dapr.NewClientWithConnection(conn)
	sub, err := client.Subscribe(context.Background(),
		dapr.SubscriptionOptions{PubsubName: "pubsub", Topic: relation.Topic})
	if err != nil {
		return nil, err
	}

	h := &eventHub{watchers: map[*watcher]bool{}}
	go func() {
		for {
			msg, err := sub.Receive()
			if err != nil {
				return
			}
			var ev relation.Event
			if json.Unmarshal(msg.RawData, &ev) == nil && ev.ID == msg.ID {
				h.hand(ev)
			}
			_ = msg.Success()
		}
	}()
	return h, nil
}

// hand gives ev to every watcher that wants it, waiting for a slow watcher
// unless its test has ended.
func (h *eventHub) hand(ev relation.Event) {
	h.mu.Lock()
	var to []*watcher
	for w := range h.watchers {
		if w.keep(ev) {
			to = append(to, w)
		}
	}
	h.mu.Unlock()
	for _, w := range to {
		select {
		case w.ch <- ev:
		case <-w.done:
		}
	}
}

func TestFollowEventsArePublished(t *testing.T) {
	ann, bob := signUp(t, "ann"), signUp(t, "bob")
	events := watchEvents(t, func(e relation.Event) bool {
		return e.FollowerID == ann.ID || e.FollowerID == bob.ID
	})

	follow(t, ann, bob)
	follow(t, ann, bob) // no change, no event
	follow(t, bob, ann)
	unfollow(t, ann, bob)

	want := map[string]relation.Event{}
	for _, e := range []relation.Event{
		{Type: relation.EventFollow, FollowerID: ann.ID, FolloweeID: bob.ID, Version: 1},
		{Type: relation.EventFollow, FollowerID: bob.ID, FolloweeID: ann.ID, Version: 1, Mutual: true},
		{Type: relation.EventUnfollow, FollowerID: ann.ID, FolloweeID: bob.ID, Version: 2},
	} {
		e.ID = fmt.Sprintf("%s-%d-%d-%d", e.Type, e.FollowerID, e.FolloweeID, e.Version)
		want[e.ID] = e
	}

	got := map[string]relation.Event{}
	timeout := time.After(60 * time.Second)
	for len(got) < len(want) {
		select {
		case ev := <-events:
			require.Contains(t, want, ev.ID, "unexpected event %+v", ev)
			assert.Positive(t, ev.At)
			ev.At = 0
			assert.Equal(t, want[ev.ID], ev)
			got[ev.ID] = ev
		case <-timeout:
			t.Fatalf("events received %v, want %v", got, want)
		}
	}
}

// TestOneUserFollowingManyAtOnceIsExact has one user follow, then unfollow,
// many accounts at once. Each change is aimed at a different account, so
// they are committed separately, and all of them write the follower's node
// and following list: they must queue or retry, never lose an update.
func TestOneUserFollowingManyAtOnceIsExact(t *testing.T) {
	spec := loadSpec(t, "services/relation/api.yaml")
	fan := ghostIDs(1)[0]
	stars := make([]int64, 40)
	var wg sync.WaitGroup
	for i := range stars {
		wg.Go(func() { stars[i] = signUp(t, "star").ID })
	}
	wg.Wait()

	countOf := func() int64 {
		r := invoke(t, spec, "relation", http.MethodPost, "/v1/relations/batch",
			map[string]any{"ids": []int64{fan}})
		var body relation.BatchResponse
		require.NoError(t, json.Unmarshal(r.Raw, &body))
		return body.Relations[0].FollowCount
	}
	wave := func(method string, ids []int64) {
		for _, star := range ids {
			wg.Go(func() {
				r := invoke(t, spec, "relation", method, edgePath(fan, star), nil)
				assert.Equal(t, http.StatusOK, r.HTTPStatus, "%s", r.Raw)
			})
		}
		wg.Wait()
	}

	wave(http.MethodPut, stars)
	assert.Equal(t, int64(len(stars)), countOf())
	assert.ElementsMatch(t, stars, internalList(t, spec, fan, relation.Following, 16))
	for _, star := range stars[:3] {
		assert.Equal(t, int64(1), followerCount(t, spec, star))
	}

	wave(http.MethodDelete, stars[:30])
	assert.Equal(t, int64(10), countOf())
	assert.ElementsMatch(t, stars[30:], internalList(t, spec, fan, relation.Following, 16))
}

// rawFollow follows through the relation service's internal API, as the
// relation client would, and reports whether the follow was confirmed: a
// success envelope saying the edge changed. It may run while the service
// is down, when the sidecar answers with an error or, if the service died
// in the middle of the call, with an empty success that confirms nothing.
func rawFollow(fan, star int64) bool {
	url := fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke/relation/method%s",
		mesh.App("gateway").DaprHTTPPort, edgePath(fan, star))
	req, err := http.NewRequest(http.MethodPut, url, nil)
	if err != nil {
		return false
	}
	req.Header.Set("dapr-api-token", mesh.DaprAPIToken())
	client := &http.Client{Timeout: 15 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var out relation.OutcomeResponse
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return false
	}
	return out.StatusCode == 0 && out.Changed
}

// TestRelationSurvivesACrash kills the relation service in the middle of a
// follow burst and starts it again. Every follow that was confirmed must be
// kept; the counter must match the list exactly (no half-applied change);
// and every follow in the list must have its event published, including
// those committed just before the crash and not yet published then.
func TestRelationSurvivesACrash(t *testing.T) {
	spec := loadSpec(t, "services/relation/api.yaml")
	star := signUp(t, "star")
	fans := ghostIDs(400)
	events := watchEvents(t, func(e relation.Event) bool { return e.FolloweeID == star.ID })

	var (
		mu        sync.Mutex
		confirmed []int64
		wg        sync.WaitGroup
	)
	work := make(chan int64)
	for range 16 {
		wg.Go(func() {
			for fan := range work {
				if rawFollow(fan, star.ID) {
					mu.Lock()
					confirmed = append(confirmed, fan)
					mu.Unlock()
				}
			}
		})
	}
	for i, fan := range fans {
		if i == len(fans)/4 {
			mesh.KillApp("relation")
		}
		work <- fan
	}
	close(work)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, mesh.StartApp(ctx, "relation"))
	require.NotEmpty(t, confirmed, "some follows went through before the crash")
	require.Less(t, len(confirmed), len(fans), "the crash interrupted the burst")

	kept := internalList(t, spec, star.ID, relation.Followers, relation.MaxLimit)
	assert.Subset(t, kept, confirmed, "every confirmed follow is kept")
	assert.Equal(t, int64(len(kept)), followerCount(t, spec, star.ID), "the counter matches the list")

	// Events of follows committed but not published before the crash come
	// from the restarted service's outbox sweep.
	want := map[int64]bool{}
	for _, fan := range kept {
		want[fan] = true
	}
	got := map[int64]bool{}
	timeout := time.After(90 * time.Second)
	for len(got) < len(want) {
		select {
		case ev := <-events:
			require.True(t, want[ev.FollowerID], "event %s reports a follow that was not kept", ev.ID)
			require.Equal(t, relation.EventFollow, ev.Type)
			got[ev.FollowerID] = true
		case <-timeout:
			t.Fatalf("got the events of %d of the %d kept follows", len(got), len(want))
		}
	}
	t.Logf("%d of %d follows confirmed before the crash, %d kept, all with their events",
		len(confirmed), len(fans), len(kept))
}
