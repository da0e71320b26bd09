package relation

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// apply runs changes, all aimed at followee b, on w. It first reads in two
// round trips what the changes will most likely touch, then applies them in
// order; pages found only on the way (neighbours of a page that empties)
// are read as needed.
func (s *DaprStore) apply(ctx context.Context, w *workset, b int64, changes []Change, at int64) ([]Outcome, error) {
	if err := s.prefetch(ctx, w, b, changes); err != nil {
		return nil, err
	}
	obKey := outboxKey(s.Shard(b))
	doc, err := w.doc(ctx, obKey)
	if err != nil {
		return nil, err
	}
	ob := doc.(*outboxDoc)
	backlog := len(ob.Events)

	outs := make([]Outcome, 0, len(changes))
	for _, c := range changes {
		var (
			out Outcome
			ev  *Event
			err error
		)
		if c.Follow {
			out, ev, err = follow(ctx, w, c.Follower, b, at)
		} else {
			out, ev, err = unfollow(ctx, w, c.Follower, b, at)
		}
		if err != nil {
			return nil, err
		}
		if ev != nil {
			ob.Events = append(ob.Events, *ev)
		}
		outs = append(outs, out)
	}
	if len(ob.Events) > backlog {
		if backlog >= maxPending {
			return nil, ErrBacklog
		}
		w.touch(obKey)
	}
	return outs, nil
}

// prefetch reads the pairs and nodes of the changes, then the list pages
// they will edit.
func (s *DaprStore) prefetch(ctx context.Context, w *workset, b int64, changes []Change) error {
	keys := []string{nodeKey(b), outboxKey(s.Shard(b))}
	for _, c := range changes {
		keys = append(keys, pairKey(c.Follower, b), nodeKey(c.Follower))
	}
	if err := w.load(ctx, keys...); err != nil {
		return err
	}

	nb := w.slots[nodeKey(b)].doc.(*nodeDoc)
	keys = keys[:0]
	page := func(list List, user, n int64) {
		if n != 0 {
			keys = append(keys, pageKey(list, user, n))
		}
	}
	page(Followers, b, nb.Followers.Head)
	for _, c := range changes {
		a := c.Follower
		na := w.slots[nodeKey(a)].doc.(*nodeDoc)
		ab, ba := w.slots[pairKey(a, b)].doc.(*pairDoc).edges(a, b)
		switch {
		case c.Follow && !ab.Following:
			page(Following, a, na.Following.Head)
			if ba.Following {
				page(Friends, a, na.Friends.Head)
				page(Friends, b, nb.Friends.Head)
			}
		case !c.Follow && ab.Following:
			page(Following, a, ab.OutPage)
			page(Followers, b, ab.InPage)
			page(Friends, a, ab.FriendPage)
			page(Friends, b, ba.FriendPage)
		}
	}
	return w.load(ctx, keys...)
}

// follow makes a follow b on w, unless it already does.
func follow(ctx context.Context, w *workset, a, b, at int64) (Outcome, *Event, error) {
	pair, na, nb, err := loadPair(ctx, w, a, b)
	if err != nil {
		return Outcome{}, nil, err
	}
	ab, ba := pair.edges(a, b)
	if ab.Following {
		return Outcome{Changed: false, Following: true}, nil, nil
	}

	if ab.OutPage, err = push(ctx, w, Following, a, na, b, at); err != nil {
		return Outcome{}, nil, err
	}
	if ab.InPage, err = push(ctx, w, Followers, b, nb, a, at); err != nil {
		return Outcome{}, nil, err
	}
	mutual := ba.Following
	if mutual {
		if ab.FriendPage, err = push(ctx, w, Friends, a, na, b, at); err != nil {
			return Outcome{}, nil, err
		}
		if ba.FriendPage, err = push(ctx, w, Friends, b, nb, a, at); err != nil {
			return Outcome{}, nil, err
		}
	}
	ab.Following = true
	ab.Version++
	ab.At = at
	w.touch(pairKey(a, b))
	w.touch(nodeKey(a))
	w.touch(nodeKey(b))
	return Outcome{Changed: true, Following: true}, newEvent(EventFollow, a, b, ab.Version, mutual, at), nil
}

// unfollow makes a stop following b on w, unless it does not follow.
func unfollow(ctx context.Context, w *workset, a, b, at int64) (Outcome, *Event, error) {
	pair, na, nb, err := loadPair(ctx, w, a, b)
	if err != nil {
		return Outcome{}, nil, err
	}
	ab, ba := pair.edges(a, b)
	if !ab.Following {
		return Outcome{Changed: false, Following: false}, nil, nil
	}

	if err := remove(ctx, w, Following, a, na, ab.OutPage, b); err != nil {
		return Outcome{}, nil, err
	}
	if err := remove(ctx, w, Followers, b, nb, ab.InPage, a); err != nil {
		return Outcome{}, nil, err
	}
	if ab.FriendPage != 0 {
		if err := remove(ctx, w, Friends, a, na, ab.FriendPage, b); err != nil {
			return Outcome{}, nil, err
		}
		if err := remove(ctx, w, Friends, b, nb, ba.FriendPage, a); err != nil {
			return Outcome{}, nil, err
		}
		ba.FriendPage = 0
	}
	*ab = edgeState{Version: ab.Version + 1, At: at}
	w.touch(pairKey(a, b))
	w.touch(nodeKey(a))
	w.touch(nodeKey(b))
	return Outcome{Changed: true, Following: false}, newEvent(EventUnfollow, a, b, ab.Version, false, at), nil
}

func newEvent(typ string, a, b, version int64, mutual bool, at int64) *Event {
	return &Event{
		ID:   typ + "-" + itoa(a) + "-" + itoa(b) + "-" + itoa(version),
		Type: typ, FollowerID: a, FolloweeID: b, Version: version, Mutual: mutual, At: at,
	}
}

// loadPair returns the pair of a and b and both users' nodes.
func loadPair(ctx context.Context, w *workset, a, b int64) (*pairDoc, *nodeDoc, *nodeDoc, error) {
	if err := w.load(ctx, pairKey(a, b), nodeKey(a), nodeKey(b)); err != nil {
		return nil, nil, nil, err
	}
	return w.slots[pairKey(a, b)].doc.(*pairDoc), w.slots[nodeKey(a)].doc.(*nodeDoc),
		w.slots[nodeKey(b)].doc.(*nodeDoc), nil
}

// page returns page n of a list; a page a list links to must exist.
func page(ctx context.Context, w *workset, list List, user, n int64) (*pageDoc, error) {
	key := pageKey(list, user, n)
	doc, err := w.doc(ctx, key)
	if err != nil {
		return nil, err
	}
	if !w.exists(key) {
		return nil, fmt.Errorf("%s list of user %d links to missing page %d", list, user, n)
	}
	return doc.(*pageDoc), nil
}

// push adds id as the newest entry of a list and returns the page it went
// to: the head page while it has room, else a new head page.
func push(ctx context.Context, w *workset, list List, user int64, node *nodeDoc, id, at int64) (int64, error) {
	h := node.head(list)
	h.Len++
	h.Seq++
	e := entry{ID: id, Seq: h.Seq, At: at}

	if h.Head != 0 {
		p, err := page(ctx, w, list, user, h.Head)
		if err != nil {
			return 0, err
		}
		if len(p.Entries) < PageSize {
			p.Entries = append(p.Entries, e)
			w.touch(pageKey(list, user, h.Head))
			return h.Head, nil
		}
		p.Newer = h.Last + 1
		w.touch(pageKey(list, user, h.Head))
	}
	h.Last++
	w.create(pageKey(list, user, h.Last), &pageDoc{Older: h.Head, Entries: []entry{e}})
	h.Head = h.Last
	return h.Head, nil
}

// remove takes id out of page n of a list. A page other than the head that
// empties is unlinked from its neighbours and deleted.
func remove(ctx context.Context, w *workset, list List, user int64, node *nodeDoc, n, id int64) error {
	p, err := page(ctx, w, list, user, n)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(p.Entries, func(e entry) bool { return e.ID == id })
	if i < 0 {
		return fmt.Errorf("%s list of user %d: page %d lacks user %d", list, user, n, id)
	}
	p.Entries = slices.Delete(p.Entries, i, i+1)
	h := node.head(list)
	h.Len--

	key := pageKey(list, user, n)
	if len(p.Entries) > 0 || n == h.Head {
		w.touch(key)
		return nil
	}
	newer, err := page(ctx, w, list, user, p.Newer)
	if err != nil {
		return err
	}
	newer.Older = p.Older
	w.touch(pageKey(list, user, p.Newer))
	if p.Older != 0 {
		older, err := page(ctx, w, list, user, p.Older)
		if err != nil {
			return err
		}
		older.Newer = p.Newer
		w.touch(pageKey(list, user, p.Older))
	}
	w.drop(key)
	return nil
}

// cursor is a position in a list: continue with the entries numbered below
// seq, looking first in page.
type cursor struct {
	page, seq int64
}

// String encodes the cursor as "<page>.<seq>"; clients treat it as opaque.
func (c cursor) String() string { return itoa(c.page) + "." + itoa(c.seq) }

// parseCursor decodes a cursor; the empty string is the start of the list.
func parseCursor(raw string) (cursor, bool, error) {
	if raw == "" {
		return cursor{}, false, nil
	}
	p, q, ok := strings.Cut(raw, ".")
	page, err1 := strconv.ParseInt(p, 10, 64)
	seq, err2 := strconv.ParseInt(q, 10, 64)
	if !ok || err1 != nil || err2 != nil || page <= 0 || seq <= 0 {
		return cursor{}, false, ErrBadCursor
	}
	return cursor{page: page, seq: seq}, true, nil
}

// maxRestarts bounds how often one list read starts over from the head
// because a page it was about to read was unlinked meanwhile. A page that
// stays missing after that is a broken chain, reported as a fault.
const maxRestarts = 3

// List implements Store. It walks the list's pages from the cursor's page
// (or the head) towards older ones. Entry numbers make the position exact:
// should the cursor's page have been unlinked since, the walk restarts from
// the head and skips what the client has already seen.
func (s *DaprStore) List(ctx context.Context, user int64, list List, limit int, raw string) (Page, error) {
	c, resumed, err := parseCursor(raw)
	if err != nil {
		return Page{}, err
	}
	w := newWorkset(s.dapr, s.name)
	bound := int64(math.MaxInt64)
	var n int64
	if resumed {
		n, bound = c.page, c.seq
	} else if n, err = s.listHead(ctx, w, user, list); err != nil {
		return Page{}, err
	}

	ids := make([]int64, 0, min(limit, PageSize))
	for restarts := 0; n != 0; {
		key := pageKey(list, user, n)
		doc, err := w.doc(ctx, key)
		if err != nil {
			return Page{}, fmt.Errorf("read %s list: %w", list, err)
		}
		if !w.exists(key) {
			if restarts++; restarts > maxRestarts {
				return Page{}, fmt.Errorf("read %s list of user %d: page %d stays missing", list, user, n)
			}
			w = newWorkset(s.dapr, s.name)
			if n, err = s.listHead(ctx, w, user, list); err != nil {
				return Page{}, err
			}
			continue
		}
		p := doc.(*pageDoc)
		for i := len(p.Entries) - 1; i >= 0; i-- {
			e := p.Entries[i]
			if e.Seq >= bound {
				continue
			}
			ids = append(ids, e.ID)
			bound = e.Seq
			if len(ids) == limit {
				next := ""
				if i > 0 || p.Older != 0 {
					next = cursor{page: n, seq: bound}.String()
				}
				return Page{IDs: ids, Next: next}, nil
			}
		}
		n = p.Older
	}
	return Page{IDs: ids}, nil
}

// listHead reads the newest page number of a list, 0 if it is empty.
func (s *DaprStore) listHead(ctx context.Context, w *workset, user int64, list List) (int64, error) {
	doc, err := w.doc(ctx, nodeKey(user))
	if err != nil {
		return 0, fmt.Errorf("read %s list: %w", list, err)
	}
	return doc.(*nodeDoc).head(list).Head, nil
}
