// Command chat benchmarks DouVo's chat through the gateway on a mesh of its
// own: send throughput and latency, the cost of the once-a-second poll for
// new messages, opening a conversation from its start, and how long a sent
// message takes to reach its connected recipient over the push stream.
//
// Run it with `make bench-chat`. Its numbers depend on the machine and on
// what else runs there; it asserts nothing.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/douvo/douvo/internal/loadgen"
	"github.com/douvo/douvo/internal/testmesh"
)

func main() {
	pairs := flag.Int("pairs", 16, "conversations (user pairs) to spread the load over")
	workers := flag.Int("workers", 16, "concurrent clients for the send and poll runs")
	duration := flag.Duration("duration", 15*time.Second, "length of each send and poll run")
	pushes := flag.Int("pushes", 200, "messages timed over the push stream")
	flag.Parse()

	if err := run(*pairs, *workers, *duration, *pushes); err != nil {
		fmt.Fprintln(os.Stderr, "bench chat:", err)
		os.Exit(1)
	}
}

func run(pairs, workers int, duration time.Duration, pushes int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	fmt.Println("starting a mesh (two message instances) ...")
	mesh, err := testmesh.Start(ctx, testmesh.Options{Env: map[string]string{
		"RATE_LIMIT_IP_PER_MIN":   "0",
		"RATE_LIMIT_USER_PER_MIN": "0",
		"RATE_LIMIT_AUTH_PER_MIN": "0",
	}})
	if mesh != nil {
		defer mesh.Close()
	}
	if err != nil {
		return err
	}
	c := &client{base: mesh.GatewayURL(), http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256},
	}}

	convs, err := seed(ctx, c, pairs)
	if err != nil {
		return err
	}
	fmt.Printf("mesh in %s; seeded %d conversations; each run lasts at most %s\n\n",
		mesh.Dir(), len(convs), duration)
	loadgen.Header(os.Stdout)

	send := loadgen.Run(ctx, loadgen.Plan{Name: "send", Workers: workers, Duration: duration},
		func(ctx context.Context, w, n int) error {
			cv := convs[w%len(convs)]
			from, to := cv.a, cv.b
			if n%2 == 1 {
				from, to = cv.b, cv.a
			}
			_, err := c.send(ctx, from, to.id, "load message "+strconv.Itoa(n))
			return err
		})
	send.Print(os.Stdout)

	// The client's poll: pre_msg_time is the newest message it has, and
	// usually nothing new has arrived.
	latest := make([]int64, len(convs))
	for i, cv := range convs {
		msgs, err := c.history(ctx, cv.a, cv.b.id, 0)
		if err != nil {
			return err
		}
		if len(msgs) > 0 {
			latest[i] = msgs[len(msgs)-1].CreateTime
		}
	}
	poll := loadgen.Run(ctx, loadgen.Plan{Name: "poll for new messages", Workers: workers, Duration: duration},
		func(ctx context.Context, w, _ int) error {
			cv := convs[w%len(convs)]
			_, err := c.history(ctx, cv.a, cv.b.id, latest[w%len(convs)])
			return err
		})
	poll.Print(os.Stdout)

	opened := loadgen.Run(ctx, loadgen.Plan{
		Name: "open chat (pre_msg_time=0)", Workers: workers, Duration: duration / 3,
	}, func(ctx context.Context, w, _ int) error {
		cv := convs[w%len(convs)]
		_, err := c.history(ctx, cv.b, cv.a.id, 0)
		return err
	})
	opened.Print(os.Stdout)

	pushed, err := timePush(ctx, c, convs[0], pushes, duration)
	if err != nil {
		return err
	}
	pushed.Print(os.Stdout)

	var longest int
	for _, cv := range convs {
		msgs, err := c.history(ctx, cv.a, cv.b.id, 0)
		if err != nil {
			return err
		}
		longest = max(longest, len(msgs))
	}
	fmt.Printf("\nopen chat returned up to %d messages per answer (at most 500)\n", longest)
	return nil
}

// timePush measures, one message at a time, from the start of a send until
// the recipient's push stream delivers it.
func timePush(ctx context.Context, c *client, cv conversation, n int, limit time.Duration) (loadgen.Result, error) {
	events, err := c.stream(ctx, cv.b)
	if err != nil {
		return loadgen.Result{}, err
	}
	return loadgen.Run(ctx, loadgen.Plan{
		Name: "send until pushed to recipient", Workers: 1, Requests: n, Duration: limit,
	}, func(ctx context.Context, _, i int) error {
		m, err := c.send(ctx, cv.a, cv.b.id, "pushed "+strconv.Itoa(i))
		if err != nil {
			return err
		}
		for {
			select {
			case id, ok := <-events:
				if !ok {
					return errors.New("push stream ended")
				}
				if id == m.ID {
					return nil
				}
			case <-time.After(10 * time.Second):
				return fmt.Errorf("message %d not pushed within 10s", m.ID)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}), nil
}

// user is a signed-in account.
type user struct {
	id    int64
	token string
}

// conversation is a pair of users who chat.
type conversation struct{ a, b user }

type message struct {
	ID         int64 `json:"id"`
	CreateTime int64 `json:"create_time"`
}

// seed registers the users of pairs conversations and sends one message in
// each, so that the first measured calls find their actors active.
func seed(ctx context.Context, c *client, pairs int) ([]conversation, error) {
	stamp := strconv.FormatInt(time.Now().UnixNano()%1_000_000, 10)
	convs := make([]conversation, 0, pairs)
	for i := range pairs {
		var cv conversation
		for j, u := range []*user{&cv.a, &cv.b} {
			var out struct {
				UserID int64  `json:"user_id"`
				Token  string `json:"token"`
			}
			name := fmt.Sprintf("bench%s_%d_%d", stamp, i, j)
			if err := c.call(ctx, http.MethodPost, "/douyin/user/register/",
				url.Values{"username": {name}, "password": {"bench-pw"}}, &out); err != nil {
				return nil, err
			}
			*u = user{id: out.UserID, token: out.Token}
		}
		if _, err := c.send(ctx, cv.a, cv.b.id, "hello"); err != nil {
			return nil, err
		}
		convs = append(convs, cv)
	}
	return convs, nil
}

// client speaks the public API.
type client struct {
	base string
	http *http.Client
}

func (c *client) send(ctx context.Context, from user, to int64, content string) (message, error) {
	var out struct {
		Message message `json:"message"`
	}
	err := c.call(ctx, http.MethodPost, "/douyin/message/action/", url.Values{"token": {from.token},
		"to_user_id": {strconv.FormatInt(to, 10)}, "action_type": {"1"}, "content": {content}}, &out)
	return out.Message, err
}

func (c *client) history(ctx context.Context, viewer user, peer, pre int64) ([]message, error) {
	var out struct {
		MessageList []message `json:"message_list"`
	}
	err := c.call(ctx, http.MethodGet, "/douyin/message/chat/", url.Values{"token": {viewer.token},
		"to_user_id": {strconv.FormatInt(peer, 10)}, "pre_msg_time": {strconv.FormatInt(pre, 10)}}, &out)
	return out.MessageList, err
}

// call sends params in the query string and decodes a successful answer.
func (c *client) call(ctx context.Context, method, path string, params url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path+"?"+params.Encode(), nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var env struct {
		Code int32  `json:"status_code"`
		Msg  string `json:"status_msg"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s: HTTP %d: %w", path, resp.StatusCode, err)
	}
	if env.Code != 0 {
		return fmt.Errorf("%s: HTTP %d: %d %s", path, resp.StatusCode, env.Code, env.Msg)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// stream opens u's push stream and returns the ids of the messages it
// delivers, once the stream is registered.
func (c *client) stream(ctx context.Context, u user) (<-chan int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		c.base+"/douyin/message/stream/?token="+url.QueryEscape(u.token), nil)
	if err != nil {
		return nil, fmt.Errorf("build stream request: %w", err)
	}
	// The body is the stream itself; the reader goroutine below closes it.
	resp, err := (&http.Client{}).Do(req) //nolint:bodyclose // closed by the reader
	if err != nil {
		return nil, fmt.Errorf("open push stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("open push stream: HTTP %d", resp.StatusCode)
	}

	ids := make(chan int64, 1024)
	ready := make(chan struct{})
	var once sync.Once
	go func() {
		defer close(ids)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "event: ready":
				once.Do(func() { close(ready) })
			case strings.HasPrefix(line, "id: "):
				if id, err := strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64); err == nil {
					ids <- id
				}
			}
		}
	}()
	select {
	case <-ready:
		return ids, nil
	case <-time.After(10 * time.Second):
		return nil, errors.New("push stream not ready within 10s")
	}
}
