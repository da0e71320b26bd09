// Command relation benchmarks follows and the relation lists on a mesh of
// its own: follow throughput through the public API, follow throughput on
// one popular account (which seeds it with 100,000 followers), and the
// latency of reading that account's follower list, first and deep pages,
// through the gateway and from the relation service alone.
//
// The 100,000 followers are seeded through the relation service's internal
// API, through a sidecar, with ids that belong to no account: the public API
// would need an account, hence an Argon2id password hash, per follower,
// which alone would take far longer than the whole run. The relation service
// checks that the followee exists and trusts its caller for the follower, so
// these follows take exactly the path a gateway follow takes from the
// relation service on. The newest followers are real accounts, so the first
// page of the list composes into full User objects as a client sees it;
// deeper pages through the gateway hold ids without accounts, which the
// gateway drops after one batch lookup, so they measure the walk and the
// lookups, not the composing of 100 users.
//
// Run it with `make bench-relation` (or `go run ./bench/relation -followers N`);
// with DOUVO_KEEP_MESH=1 the printed mesh folder keeps every app's log. It prints one row per scenario; numbers
// depend on the machine and on what else runs on it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/douvo/douvo/internal/loadgen"
	"github.com/douvo/douvo/internal/platform/config"
	"github.com/douvo/douvo/internal/platform/sidecar"
	"github.com/douvo/douvo/internal/testmesh"
	"github.com/douvo/douvo/services/relation"
)

// Sizes of the run.
const (
	// realFans are the accounts that follow it last, through the gateway.
	realFans = 100
	// accounts are the accounts that follow each other in the
	// distinct-pairs scenario.
	accounts = 100
	// ghostBase is the first id of the seeded followers, far above the ids
	// of real accounts and below 2^53.
	ghostBase = int64(1) << 40
)

func main() {
	followers := flag.Int("followers", 100_000, "followers of the popular account")
	flag.Parse()
	if err := run(*followers); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(followers int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	mesh, err := testmesh.Start(ctx, testmesh.Options{Env: map[string]string{
		"RATE_LIMIT_IP_PER_MIN":   "0",
		"RATE_LIMIT_USER_PER_MIN": "0",
		"RATE_LIMIT_AUTH_PER_MIN": "0",
	}})
	if mesh != nil {
		defer mesh.Close()
	}
	if err != nil {
		return fmt.Errorf("start mesh: %w", err)
	}
	fmt.Printf("mesh (profile %s) ready in %s at %s\n", mesh.Profile(), time.Since(start).Round(time.Millisecond),
		mesh.Dir())

	gw := mesh.App("gateway")
	sc, err := sidecar.Connect(ctx, config.Sidecar{
		HTTPPort: gw.DaprHTTPPort, GRPCPort: gw.DaprGRPCPort,
		APIToken: mesh.DaprAPIToken(), WaitTimeout: 30 * time.Second,
	}, propagation.TraceContext{})
	if err != nil {
		return err
	}
	defer sc.Close()
	b := &bench{api: newAPI(mesh.GatewayURL()), relations: relation.NewClient(sc), followers: followers}
	return b.run(ctx)
}

type bench struct {
	api       *api
	relations *relation.Client
	followers int
	results   []loadgen.Result
}

func (b *bench) run(ctx context.Context) error {
	t0 := time.Now()
	users, err := b.api.registerMany(ctx, "acct", accounts+realFans+1)
	if err != nil {
		return err
	}
	star, fans, crowd := users[0], users[1:1+realFans], users[1+realFans:]
	fmt.Printf("registered %d accounts in %s\n", len(users), time.Since(t0).Round(time.Millisecond))

	b.followDistinctPairs(ctx, crowd)
	if err := b.seedFollowers(ctx, star); err != nil {
		return err
	}
	for _, f := range fans {
		if err := b.api.relate(ctx, f, star.ID, "1"); err != nil {
			return fmt.Errorf("real fan follows: %w", err)
		}
	}
	if err := b.checkCount(ctx, star.ID, int64(b.followers+realFans)); err != nil {
		return err
	}
	cursors, err := b.collectCursors(ctx, star.ID)
	if err != nil {
		return err
	}
	b.readLists(ctx, star, fans, cursors)

	fmt.Println()
	loadgen.Header(os.Stdout)
	for _, r := range b.results {
		r.Print(os.Stdout)
	}
	return nil
}

// followDistinctPairs measures follows through the gateway, each one a real
// change of a different edge between real accounts.
func (b *bench) followDistinctPairs(ctx context.Context, crowd []account) {
	type pair struct{ from, to int }
	pairs := make([]pair, 0, len(crowd)*(len(crowd)-1))
	for i := range crowd {
		for j := range crowd {
			if i != j {
				pairs = append(pairs, pair{i, j})
			}
		}
	}
	rand.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })

	var next atomic.Int64
	follow := func(ctx context.Context, _, _ int) error {
		n := int(next.Add(1)) - 1
		if n >= len(pairs) {
			return errors.New("out of pairs")
		}
		p := pairs[n]
		return b.api.relate(ctx, crowd[p.from], crowd[p.to].ID, "1")
	}
	b.results = append(b.results,
		loadgen.Run(ctx, loadgen.Plan{
			Name: "follow, distinct pairs, 1 client", Workers: 1, Duration: 5 * time.Second,
		}, follow),
		loadgen.Run(ctx, loadgen.Plan{
			Name: "follow, distinct pairs (gateway)", Workers: 16, Duration: 15 * time.Second,
		}, follow))
}

// seedFollowers has followers accounts follow star at once through the
// relation service's internal API: the throughput of a popular account's
// follow burst, and the seed of the list scenarios.
func (b *bench) seedFollowers(ctx context.Context, star account) error {
	var (
		mu     sync.Mutex
		failed []int64
	)
	res := loadgen.Run(ctx, loadgen.Plan{
		Name: "follow one account (relation API)", Workers: 48, Requests: b.followers, Duration: 4 * time.Minute,
	}, func(ctx context.Context, _, n int) error {
		out, err := b.relations.Follow(ctx, ghostBase+int64(n), star.ID)
		if err == nil && !out.Changed {
			err = errors.New("seed follow changed nothing")
		}
		if err != nil {
			mu.Lock()
			failed = append(failed, ghostBase+int64(n))
			mu.Unlock()
		}
		return err
	})
	b.results = append(b.results, res)
	if res.Requests < b.followers {
		return fmt.Errorf("seeding stopped after %d of %d follows", res.Requests, b.followers)
	}
	// Follows that failed (a timeout under load, say) are retried, so that
	// the list has its full size; a follow is idempotent.
	for _, id := range failed {
		if _, err := b.relations.Follow(ctx, id, star.ID); err != nil {
			return fmt.Errorf("seed followers: %w", err)
		}
	}
	return nil
}

func (b *bench) checkCount(ctx context.Context, id int64, want int64) error {
	rels, err := b.relations.Batch(ctx, 0, []int64{id})
	if err != nil {
		return err
	}
	if got := rels[0].FollowerCount; got != want {
		return fmt.Errorf("follower_count is %d, want %d", got, want)
	}
	fmt.Printf("the popular account has %d followers\n", want)
	return nil
}

// collectCursors walks the whole follower list, which is also timed, and
// returns the cursors of its pages of 100.
func (b *bench) collectCursors(ctx context.Context, id int64) ([]string, error) {
	t0 := time.Now()
	var cursors []string
	cursor, seen := "", 0
	for {
		p, err := b.relations.List(ctx, id, relation.Followers, 100, cursor)
		if err != nil {
			return nil, err
		}
		seen += len(p.IDs)
		if p.Next == "" {
			break
		}
		cursors = append(cursors, p.Next)
		cursor = p.Next
	}
	if seen != b.followers+realFans {
		return nil, fmt.Errorf("the follower list has %d entries, want %d", seen, b.followers+realFans)
	}
	fmt.Printf("walked the %d followers in pages of 100 in %s\n", seen, time.Since(t0).Round(time.Millisecond))
	return cursors, nil
}

// readLists measures the list reads of the popular account.
func (b *bench) readLists(ctx context.Context, star account, fans []account, cursors []string) {
	plan := func(name string, workers int) loadgen.Plan {
		return loadgen.Plan{Name: name, Workers: workers, Duration: 10 * time.Second}
	}
	viewer := fans[0]
	firstPage := func(ctx context.Context, _, _ int) error {
		n, err := b.api.list(ctx, "follower", star.ID, viewer.Token, "")
		if err == nil && n != realFans {
			err = fmt.Errorf("first page has %d users, want %d", n, realFans)
		}
		return err
	}
	deepPage := func(ctx context.Context, _, _ int) error {
		_, err := b.api.list(ctx, "follower", star.ID, viewer.Token, cursors[rand.IntN(len(cursors))])
		return err
	}
	internalDeep := func(ctx context.Context, _, _ int) error {
		p, err := b.relations.List(ctx, star.ID, relation.Followers, 100, cursors[rand.IntN(len(cursors))])
		if err == nil && len(p.IDs) == 0 {
			err = errors.New("empty page")
		}
		return err
	}
	ids := make([]int64, 0, 30)
	for _, f := range fans[:30] {
		ids = append(ids, f.ID)
	}
	batch := func(ctx context.Context, _, _ int) error {
		_, err := b.relations.Batch(ctx, viewer.ID, ids)
		return err
	}
	info := func(ctx context.Context, _, _ int) error {
		return b.api.userInfo(ctx, star.ID, viewer.Token)
	}

	b.results = append(b.results,
		loadgen.Run(ctx, plan("follower list, first page, 1 client", 1), firstPage),
		loadgen.Run(ctx, plan("follower list, first page (gateway)", 8), firstPage),
		loadgen.Run(ctx, plan("deep page, ids without accounts (gateway)", 8), deepPage),
		loadgen.Run(ctx, plan("deep page, relation only, 1 client", 1), internalDeep),
		loadgen.Run(ctx, plan("follower list, deep page (relation)", 8), internalDeep),
		loadgen.Run(ctx, plan("relations of 30 users (relation)", 8), batch),
		loadgen.Run(ctx, plan("user info of the account (gateway)", 8), info),
	)
}

// account is a registered user.
type account struct {
	ID    int64
	Token string
}

// api is a small client of the public API.
type api struct {
	base   string
	client *http.Client
}

func newAPI(base string) *api {
	return &api{base: base, client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256},
	}}
}

// call posts params to path and decodes the answer into out, failing on a
// non-zero status_code.
func (a *api) call(ctx context.Context, path string, params url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path,
		strings.NewReader(params.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Code int32  `json:"status_code"`
		Msg  string `json:"status_msg"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s: status %d: %s", path, resp.StatusCode, raw)
	}
	if env.Code != 0 {
		return fmt.Errorf("%s: %d %s", path, env.Code, env.Msg)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// registerMany registers n accounts with 8 workers.
func (a *api) registerMany(ctx context.Context, prefix string, n int) ([]account, error) {
	out := make([]account, n)
	errs := make([]error, n)
	stamp := strconv.FormatInt(time.Now().UnixNano()%1_000_000, 36)
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				name := prefix + stamp + "_" + strconv.Itoa(i)
				var body struct {
					UserID int64  `json:"user_id"`
					Token  string `json:"token"`
				}
				errs[i] = a.call(ctx, "/douyin/user/register/",
					url.Values{"username": {name}, "password": {"pw-" + name}}, &body)
				out[i] = account{ID: body.UserID, Token: body.Token}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	return out, nil
}

func (a *api) relate(ctx context.Context, from account, to int64, action string) error {
	return a.call(ctx, "/douyin/relation/action/", url.Values{
		"token": {from.Token}, "to_user_id": {strconv.FormatInt(to, 10)}, "action_type": {action},
	}, nil)
}

// list reads a page of a relation list and returns its length.
func (a *api) list(ctx context.Context, which string, user int64, token, cursor string) (int, error) {
	params := url.Values{"user_id": {strconv.FormatInt(user, 10)}, "token": {token}}
	if cursor != "" {
		params.Set("cursor", cursor)
	}
	var body struct {
		UserList []json.RawMessage `json:"user_list"`
	}
	err := a.call(ctx, "/douyin/relation/"+which+"/list/", params, &body)
	return len(body.UserList), err
}

func (a *api) userInfo(ctx context.Context, id int64, token string) error {
	return a.call(ctx, "/douyin/user/", url.Values{
		"user_id": {strconv.FormatInt(id, 10)}, "token": {token},
	}, nil)
}
