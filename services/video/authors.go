package video

import (
	"context"
	"fmt"
	"sync"
)

// Authors resolves the authors of videos through the video service and
// remembers them, since a video's author never changes: the services that
// check a video on every like or comment ask the video service once per
// video, and keep working for the videos they know while it is down. It is
// safe for concurrent use.
type Authors struct {
	client *Client
	max    int

	mu   sync.Mutex
	byID map[int64]int64
}

// NewAuthors returns an Authors that asks client and remembers up to size
// videos; when full, it forgets an arbitrary half of them.
func NewAuthors(client *Client, size int) *Authors {
	return &Authors{client: client, max: max(size, 2), byID: make(map[int64]int64)}
}

// Author returns the author of the video id, or ErrNotFound.
func (a *Authors) Author(ctx context.Context, id int64) (int64, error) {
	a.mu.Lock()
	author, ok := a.byID[id]
	a.mu.Unlock()
	if ok {
		return author, nil
	}

	vs, err := a.client.Batch(ctx, []int64{id})
	if err != nil {
		return 0, fmt.Errorf("author of video %d: %w", id, err)
	}
	if len(vs) == 0 {
		return 0, ErrNotFound
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.byID) >= a.max {
		n := 0
		for k := range a.byID {
			if n >= a.max/2 {
				break
			}
			delete(a.byID, k)
			n++
		}
	}
	a.byID[id] = vs[0].AuthorID
	return vs[0].AuthorID, nil
}
