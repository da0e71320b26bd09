// Command likes benchmarks likes through the gateway on a mesh of its own:
// the throughput and latency of like and unlike requests, spread over a few
// videos and aimed at one popular video, and how long the counters take to
// settle on the exact values once a burst ends. After each burst it checks
// every counter against the likes the clients made and reports mismatches.
//
// Run it with `make bench-likes`. Its numbers depend on the machine and on
// what else runs there; it asserts nothing.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/douvo/douvo/internal/apiclient"
	"github.com/douvo/douvo/internal/clips"
	"github.com/douvo/douvo/internal/loadgen"
	"github.com/douvo/douvo/internal/testmesh"
)

func main() {
	users := flag.Int("users", 64, "users who like and unlike")
	videos := flag.Int("videos", 8, "videos the spread-out burst likes")
	workers := flag.Int("workers", 16, "concurrent clients")
	duration := flag.Duration("duration", 15*time.Second, "length of each burst")
	flag.Parse()

	if err := run(*users, *videos, *workers, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "bench likes:", err)
		os.Exit(1)
	}
}

// account is a signed-in user.
type account struct {
	id    int64
	token string
}

// truth is which user likes which video, as the clients made it: each user
// belongs to one worker, so a user's actions never race.
type truth struct {
	mu    sync.Mutex
	liked map[[2]int64]bool
}

func (t *truth) set(user, video int64, liked bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.liked[[2]int64{user, video}] = liked
}

// counts returns the likes each video has and each user gives.
func (t *truth) counts() (perVideo, perUser map[int64]int64, total int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	perVideo, perUser = map[int64]int64{}, map[int64]int64{}
	for k, liked := range t.liked {
		if liked {
			perUser[k[0]]++
			perVideo[k[1]]++
			total++
		}
	}
	return perVideo, perUser, total
}

func run(users, videos, workers int, duration time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	fmt.Println("starting a mesh ...")
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
	api := apiclient.New(mesh.GatewayURL())

	author, fans, vids, err := seed(ctx, api, users, videos)
	if err != nil {
		return err
	}
	fmt.Printf("mesh (profile %s) in %s; %d users, %d videos; each burst lasts %s\n\n",
		mesh.Profile(), mesh.Dir(), len(fans), len(vids), duration)

	type outcome struct {
		result  loadgen.Result
		settled time.Duration
		err     error
	}
	var outcomes []outcome
	likes := &truth{liked: map[[2]int64]bool{}}
	bursts := []struct {
		name    string
		workers int
		videos  []int64
		length  time.Duration
	}{
		{"like/unlike, 1 client", 1, vids, duration / 3},
		{fmt.Sprintf("like/unlike over %d videos", len(vids)), workers, vids, duration},
		{"like/unlike of one video", workers, vids[:1], duration},
	}
	loadgen.Header(os.Stdout)
	for _, b := range bursts {
		r := burst(ctx, api, b.name, b.workers, b.length, fans, b.videos, likes)
		r.Print(os.Stdout)
		ended := time.Now()
		settled, err := awaitCounters(ctx, api, author, vids, likes)
		outcomes = append(outcomes, outcome{result: r, settled: settled.Sub(ended), err: err})
	}

	fmt.Println("\ncounters after each burst (time from its last answer until every video's")
	fmt.Println("favorite_count and the author's total_favorited were exact):")
	for _, o := range outcomes {
		if o.err != nil {
			fmt.Printf("  %-34s did not settle: %v\n", o.result.Name, o.err)
			continue
		}
		fmt.Printf("  %-34s settled in %s\n", o.result.Name, o.settled.Round(time.Millisecond))
	}
	wrong, err := checkUsers(ctx, api, author, fans, likes)
	if err != nil {
		return err
	}
	_, _, total := likes.counts()
	fmt.Printf("\nthen all %d users' favorite_count, against %d standing likes: %d wrong\n",
		len(fans), total, wrong)
	return nil
}

// seed registers an author with videos and the users who like them.
func seed(ctx context.Context, api *apiclient.Client, users, videos int) (account, []account, []int64, error) {
	stamp := strconv.FormatInt(time.Now().UnixNano()%1_000_000, 10)
	register := func(name string) (account, error) {
		id, token, err := api.Register(ctx, name, "bench-pw")
		return account{id: id, token: token}, err
	}
	author, err := register("author" + stamp)
	if err != nil {
		return account{}, nil, nil, err
	}
	vids := make([]int64, 0, videos)
	for i := range videos {
		v, err := api.Publish(ctx, author.token, "bench clip "+strconv.Itoa(i), bytes.NewReader(clips.MP4))
		if err != nil {
			return account{}, nil, nil, err
		}
		vids = append(vids, v.ID)
	}

	fans := make([]account, users)
	errs := make(chan error, users)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range fans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var err error
			if fans[i], err = register(fmt.Sprintf("fan%s_%d", stamp, i)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return account{}, nil, nil, err
	}
	return author, fans, vids, nil
}

// burst runs random likes (two in three) and unlikes of videos by the fans
// from workers clients for length. Worker w acts for the fans w, w+workers,
// ... in turn, so that no two requests of one fan race and the truth is
// known.
func burst(ctx context.Context, api *apiclient.Client, name string, workers int, length time.Duration,
	fans []account, videos []int64, likes *truth,
) loadgen.Result {
	workers = min(workers, len(fans))
	turns := make([]int, workers)
	rngs := make([]*rand.Rand, workers)
	for w := range rngs {
		rngs[w] = rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	}
	return loadgen.Run(ctx, loadgen.Plan{Name: name, Workers: workers, Duration: length},
		func(ctx context.Context, w, _ int) error {
			fan := fans[(w+turns[w]*workers)%len(fans)]
			turns[w]++
			rng := rngs[w]
			video, liked := videos[rng.IntN(len(videos))], rng.IntN(3) > 0
			err := api.Favorite(ctx, fan.token, video, liked)
			if err != nil {
				// The outcome is unknown (the run may have ended in the
				// middle of the request): repeat it, which is idempotent,
				// so that the truth is known.
				retry, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
				defer cancel()
				if err2 := api.Favorite(retry, fan.token, video, liked); err2 != nil {
					return errors.Join(err, err2)
				}
			}
			likes.set(fan.id, video, liked)
			return err
		})
}

// awaitCounters polls until every video's favorite_count and the author's
// total_favorited match the truth and keep matching for a second (events
// still queued could cancel out for a moment), for at most two minutes. It
// returns when they first matched for good.
func awaitCounters(ctx context.Context, api *apiclient.Client, author account, videos []int64,
	likes *truth,
) (time.Time, error) {
	perVideo, _, total := likes.counts()
	deadline := time.Now().Add(2 * time.Minute)
	var matched time.Time
	var last error
	for time.Now().Before(deadline) {
		last = countersMatch(ctx, api, author, videos, perVideo, total)
		switch {
		case last != nil:
			matched = time.Time{}
		case matched.IsZero():
			matched = time.Now()
		case time.Since(matched) >= time.Second:
			return matched, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Time{}, last
}

func countersMatch(ctx context.Context, api *apiclient.Client, author account, videos []int64,
	perVideo map[int64]int64, total int64,
) error {
	list, err := api.PublishList(ctx, author.token, author.id)
	if err != nil {
		return err
	}
	shown := map[int64]int64{}
	for _, v := range list {
		shown[v.ID] = v.FavoriteCount
	}
	for _, v := range videos {
		if shown[v] != perVideo[v] {
			return fmt.Errorf("video %d shows %d likes, want %d", v, shown[v], perVideo[v])
		}
	}
	u, err := api.User(ctx, author.token, author.id)
	if err != nil {
		return err
	}
	if u.TotalFavorited != total {
		return fmt.Errorf("the author shows total_favorited %d, want %d", u.TotalFavorited, total)
	}
	return nil
}

// checkUsers compares every fan's favorite_count with the truth, once the
// counters have settled, and returns how many differ.
func checkUsers(ctx context.Context, api *apiclient.Client, author account, fans []account,
	likes *truth,
) (int, error) {
	_, perUser, _ := likes.counts()
	wrong := 0
	for _, f := range fans {
		u, err := api.User(ctx, author.token, f.id)
		if err != nil {
			return 0, err
		}
		if u.FavoriteCount != perUser[f.id] {
			wrong++
		}
	}
	return wrong, nil
}
