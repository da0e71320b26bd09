package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/douvo/douvo/internal/apiclient"
	"github.com/douvo/douvo/internal/clips"
	"github.com/douvo/douvo/internal/contract"
	"github.com/douvo/douvo/internal/demo"
)

// maxUpload is the video service's default upload limit, which the mesh
// runs with.
const maxUpload = 100 << 20

// part is one field of a multipart upload: a text value, or a file.
type part struct {
	name  string
	value string
	file  io.Reader
}

func textPart(name, value string) part { return part{name: name, value: value} }

func filePart(r io.Reader) part { return part{name: "data", file: r} }

// upload posts parts as a multipart body, streamed from a pipe so that large
// files are never built in memory, with query parameters and extra headers.
func upload(t *testing.T, query url.Values, header http.Header, parts ...part) reply {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, p := range parts {
			if p.file == nil {
				if err := mw.WriteField(p.name, p.value); err != nil {
					pw.CloseWithError(err)
					return
				}
				continue
			}
			h := textproto.MIMEHeader{}
			// A name and a content type that lie: the service must judge
			// the file by its content.
			h.Set("Content-Disposition", `form-data; name="data"; filename="clip.mp4"`)
			h.Set("Content-Type", "video/mp4")
			w, err := mw.CreatePart(h)
			if err == nil {
				_, err = io.Copy(w, p.file)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	u := mesh.GatewayURL() + "/douyin/publish/action/"
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(http.MethodPost, u, pr)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, vs := range header {
		req.Header[k] = vs
	}
	r := do(t, req)
	pr.Close()
	return r
}

// tryPublish is publish for goroutines other than the test's: it reports a
// failure instead of failing the test.
func tryPublish(a account, title string, clip []byte) error {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("token", a.Token)
	_ = mw.WriteField("title", title)
	w, err := mw.CreateFormFile("data", "clip.mp4")
	if err != nil {
		return err
	}
	if _, err := w.Write(clip); err != nil {
		return err
	}
	if err := mw.Close(); err != nil {
		return err
	}
	resp, err := http.Post(mesh.GatewayURL()+"/douyin/publish/action/", mw.FormDataContentType(), &buf)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		StatusCode int    `json:"status_code"`
		StatusMsg  string `json:"status_msg"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return err
	}
	if body.StatusCode != 0 {
		return fmt.Errorf("publish refused: %d %s", body.StatusCode, body.StatusMsg)
	}
	return nil
}

// publish uploads clip for a with the token and title before the file.
func publish(t *testing.T, a account, title string, clip []byte) reply {
	t.Helper()
	return upload(t, nil, nil, textPart("token", a.Token), textPart("title", title),
		filePart(bytes.NewReader(clip)))
}

// videoList decodes the video_list of an answer.
func videoList(t *testing.T, r reply) []map[string]any {
	t.Helper()
	raw, ok := r.Body["video_list"].([]any)
	require.True(t, ok, "no video_list array in %s", r.Raw)
	out := make([]map[string]any, 0, len(raw))
	for _, v := range raw {
		m, ok := v.(map[string]any)
		require.True(t, ok, "video is not an object: %s", r.Raw)
		out = append(out, m)
	}
	return out
}

func num(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	require.True(t, ok, "%v is not a number", v)
	i, err := n.Int64()
	require.NoError(t, err)
	return i
}

// fetch gets a media URL with extra request headers and returns the answer
// with its body read.
func fetch(t *testing.T, method, u string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// feedHead returns the id of the newest video in the feed, 0 when empty.
func feedHead(t *testing.T) int64 {
	t.Helper()
	list := videoList(t, ok(t, get(t, "/douyin/feed/", nil)))
	if len(list) == 0 {
		return 0
	}
	return num(t, list[0]["id"])
}

// mediaFiles counts the files in the media binding's folder of the mesh.
func mediaFiles(t *testing.T) int {
	t.Helper()
	n := 0
	root := filepath.Join(mesh.Dir(), ".data", "media")
	err := filepath.WalkDir(root, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if !os.IsNotExist(err) {
		require.NoError(t, err)
	}
	return n
}

// hasFFmpeg reports whether the machine has ffmpeg, so that the video
// service takes covers from frames and decodes every upload.
func hasFFmpeg() bool {
	_, err := exec.LookPath("ffmpeg")
	return err == nil
}

func TestFeedOfAFreshDeploymentIsEmpty(t *testing.T) {
	require.NoError(t, freshFeed.err)
	require.Equal(t, http.StatusOK, freshFeed.status, "%s", freshFeed.body)
	var body struct {
		StatusCode *int64           `json:"status_code"`
		VideoList  []map[string]any `json:"video_list"`
		NextTime   int64            `json:"next_time"`
	}
	require.NoError(t, json.Unmarshal(freshFeed.body, &body))
	require.NotNil(t, body.StatusCode)
	require.Zero(t, *body.StatusCode)
	require.NotNil(t, body.VideoList, "video_list must be an empty array, not null: %s", freshFeed.body)
	require.Empty(t, body.VideoList)
	require.Positive(t, body.NextTime)
}

func TestPublishShowsInFeedListAndWorkCountAtOnce(t *testing.T) {
	a := signUp(t, "pub")
	r := ok(t, publish(t, a, "  first clip  ", clips.MP4))
	id := r.Int("video.id")
	require.Positive(t, id)
	require.Equal(t, "first clip", r.Str("video.title"), "the title is stored trimmed")

	feed := videoList(t, ok(t, get(t, "/douyin/feed/", nil)))
	require.NotEmpty(t, feed)
	top := feed[0]
	require.Equal(t, id, num(t, top["id"]), "the new video heads the feed")
	require.Equal(t, "first clip", top["title"])
	require.Equal(t, false, top["is_favorite"])
	require.Equal(t, int64(0), num(t, top["favorite_count"]))
	require.Equal(t, int64(0), num(t, top["comment_count"]))
	author := top["author"].(map[string]any)
	require.Equal(t, a.ID, num(t, author["id"]))
	require.Equal(t, a.Name, author["name"])
	require.Equal(t, int64(1), num(t, author["work_count"]))
	require.Equal(t, false, author["is_follow"])
	for _, key := range []string{"play_url", "cover_url"} {
		u, err := url.Parse(top[key].(string))
		require.NoError(t, err)
		require.True(t, u.IsAbs(), "%s must be absolute: %s", key, u)
		require.True(t, strings.HasPrefix(u.String(), mesh.GatewayURL()+"/media/"), "%s", u)
	}

	signedIn := videoList(t, ok(t, get(t, "/douyin/feed/", vals("token", a.Token))))
	require.Equal(t, id, num(t, signedIn[0]["id"]))
	require.Equal(t, false, signedIn[0]["is_favorite"])

	list := videoList(t, ok(t, get(t, "/douyin/publish/list/", vals("user_id", strconv.FormatInt(a.ID, 10),
		"token", a.Token))))
	require.Len(t, list, 1)
	require.Equal(t, id, num(t, list[0]["id"]))

	second := ok(t, publish(t, a, "second clip", clips.WebM)).Int("video.id")
	require.Greater(t, second, id)
	list = videoList(t, ok(t, get(t, "/douyin/publish/list/", vals("token", a.Token))))
	require.Len(t, list, 2, "without user_id the list is the caller's")
	require.Equal(t, []int64{second, id}, []int64{num(t, list[0]["id"]), num(t, list[1]["id"])},
		"newest first")

	me := ok(t, get(t, "/douyin/user/", vals("token", a.Token)))
	require.Equal(t, int64(2), me.Int("user.work_count"))

	other := signUp(t, "nopub")
	empty := ok(t, get(t, "/douyin/publish/list/", vals("user_id", strconv.FormatInt(other.ID, 10))))
	require.Empty(t, videoList(t, empty))
	require.Equal(t, int64(0), ok(t, get(t, "/douyin/user/", vals("token", other.Token))).Int("user.work_count"))

	fails(t, get(t, "/douyin/publish/list/", vals("user_id", "900719925474099")), http.StatusOK, "user not found")
}

func TestPublishAcceptsEveryFormatAndFieldOrder(t *testing.T) {
	a := signUp(t, "fmt")
	formats := []struct {
		name        string
		clip        []byte
		contentType string
	}{
		{"mp4", clips.MP4, "video/mp4"},
		{"mov", clips.MOV, "video/quicktime"},
		{"webm", clips.WebM, "video/webm"},
	}
	orders := []struct {
		name   string
		query  url.Values
		header http.Header
		parts  func(clip []byte) []part
	}{
		{"fields first", nil, nil, func(clip []byte) []part {
			return []part{textPart("token", a.Token), textPart("title", "t"), filePart(bytes.NewReader(clip))}
		}},
		{"file first", nil, nil, func(clip []byte) []part {
			return []part{filePart(bytes.NewReader(clip)), textPart("token", a.Token), textPart("title", "t")}
		}},
		{"token in query", vals("token", a.Token), nil, func(clip []byte) []part {
			return []part{textPart("title", "t"), filePart(bytes.NewReader(clip))}
		}},
		{"bearer header", nil, http.Header{"Authorization": {"Bearer " + a.Token}}, func(clip []byte) []part {
			return []part{filePart(bytes.NewReader(clip)), textPart("title", "t")}
		}},
	}
	for _, f := range formats {
		for _, o := range orders {
			t.Run(f.name+"/"+o.name, func(t *testing.T) {
				r := ok(t, upload(t, o.query, o.header, o.parts(f.clip)...))
				play := r.Str("video.play_url")
				require.True(t, strings.HasSuffix(play, "."+f.name), play)
				resp, body := fetch(t, http.MethodGet, play, nil)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				require.Equal(t, f.contentType, resp.Header.Get("Content-Type"))
				require.Equal(t, f.clip, body, "the file comes back byte for byte")
			})
		}
	}
	me := ok(t, get(t, "/douyin/user/", vals("token", a.Token)))
	require.Equal(t, int64(len(formats)*len(orders)), me.Int("user.work_count"))
}

func TestTitlesOfExactlyTheLimitAreKept(t *testing.T) {
	a := signUp(t, "title")
	title := strings.Repeat("视", 100)
	r := ok(t, publish(t, a, title, clips.MP4))
	require.Equal(t, title, r.Str("video.title"))
}

func TestMediaIsServedWithRangesAndCaching(t *testing.T) {
	a := signUp(t, "media")
	r := ok(t, publish(t, a, "ranges", clips.MP4))
	play, cover := r.Str("video.play_url"), r.Str("video.cover_url")
	size := len(clips.MP4)

	resp, body := fetch(t, http.MethodGet, play, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, clips.MP4, body)
	require.Equal(t, strconv.Itoa(size), resp.Header.Get("Content-Length"))
	require.Equal(t, "bytes", resp.Header.Get("Accept-Ranges"))
	require.Contains(t, resp.Header.Get("Cache-Control"), "max-age=")
	require.NotEmpty(t, resp.Header.Get("Last-Modified"))
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)

	ranges := []struct {
		header      string
		first, last int
	}{
		{"bytes=0-0", 0, 0},
		{"bytes=100-1123", 100, 1123},
		{"bytes=1000-", 1000, size - 1},
		{"bytes=-500", size - 500, size - 1},
		{fmt.Sprintf("bytes=%d-%d", size-10, size+1000), size - 10, size - 1},
	}
	for _, rg := range ranges {
		t.Run(rg.header, func(t *testing.T) {
			resp, body := fetch(t, http.MethodGet, play, map[string]string{"Range": rg.header})
			require.Equal(t, http.StatusPartialContent, resp.StatusCode)
			require.Equal(t, clips.MP4[rg.first:rg.last+1], body)
			require.Equal(t, strconv.Itoa(rg.last-rg.first+1), resp.Header.Get("Content-Length"))
			require.Equal(t, fmt.Sprintf("bytes %d-%d/%d", rg.first, rg.last, size),
				resp.Header.Get("Content-Range"))
			require.Equal(t, "video/mp4", resp.Header.Get("Content-Type"))
		})
	}

	resp, _ = fetch(t, http.MethodGet, play, map[string]string{"Range": fmt.Sprintf("bytes=%d-", size)})
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
	require.Equal(t, fmt.Sprintf("bytes */%d", size), resp.Header.Get("Content-Range"))

	resp, body = fetch(t, http.MethodGet, play, map[string]string{"Range": "bytes=0-9", "If-Range": `"stale"`})
	require.Equal(t, http.StatusOK, resp.StatusCode, "a stale If-Range gets the whole file")
	require.Len(t, body, size)

	resp, body = fetch(t, http.MethodGet, play, map[string]string{"If-None-Match": etag})
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
	require.Empty(t, body)

	resp, body = fetch(t, http.MethodHead, play, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, body)
	require.Equal(t, strconv.Itoa(size), resp.Header.Get("Content-Length"))

	resp, body = fetch(t, http.MethodGet, cover, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
	img, format, err := image.Decode(bytes.NewReader(body))
	require.NoError(t, err, "the cover decodes as an image")
	require.Equal(t, "jpeg", format)
	if hasFFmpeg() {
		require.Equal(t, image.Pt(clips.Width, clips.Height), img.Bounds().Size(),
			"with ffmpeg the cover is a frame of the video")
	} else {
		require.Equal(t, image.Pt(360, 640), img.Bounds().Size(), "without ffmpeg, a placeholder")
	}

	missing := strings.Replace(play, fmt.Sprintf("/%d.", r.Int("video.id")), "/900719925474099.", 1)
	resp, _ = fetch(t, http.MethodGet, missing, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = fetch(t, http.MethodGet, strings.TrimSuffix(play, ".mp4")+".webm", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the extension must match the format")
}

func TestLargeUploadStreamsThroughAndSeeks(t *testing.T) {
	const size = 40 << 20
	a := signUp(t, "large")
	r := ok(t, upload(t, nil, nil, filePart(clips.Padded(clips.MP4, size)),
		textPart("token", a.Token), textPart("title", "forty MiB, file first")))
	play := r.Str("video.play_url")
	want, err := io.ReadAll(clips.Padded(clips.MP4, size))
	require.NoError(t, err)

	resp, body := fetch(t, http.MethodGet, play, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, strconv.Itoa(size), resp.Header.Get("Content-Length"))
	require.Equal(t, sha256.Sum256(want), sha256.Sum256(body))

	const chunk = 1 << 20
	for _, rg := range [][2]int{{chunk - 6, chunk + 9}, {3*chunk - 1, 5 * chunk}, {size - chunk - 1, size - 1}} {
		resp, body := fetch(t, http.MethodGet, play,
			map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", rg[0], rg[1])})
		require.Equal(t, http.StatusPartialContent, resp.StatusCode)
		require.Equal(t, want[rg[0]:rg[1]+1], body, "range %v", rg)
	}

	// Players drop downloads when they seek: the sidecars must survive it,
	// and the next download must work.
	gatewaySidecar := mesh.Processes()["gateway.daprd"]
	for i := range 12 {
		req, err := http.NewRequest(http.MethodGet, play, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, err = io.ReadFull(resp.Body, make([]byte, (i%4+1)*chunk/2))
		require.NoError(t, err)
		resp.Body.Close()
	}
	resp, body = fetch(t, http.MethodGet, play, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, sha256.Sum256(want), sha256.Sum256(body), "a whole download after the dropped ones")
	require.Equal(t, gatewaySidecar, mesh.Processes()["gateway.daprd"], "the gateway's sidecar is the same process")

	r = ok(t, upload(t, nil, nil, textPart("token", a.Token), textPart("title", "streamed"),
		filePart(clips.Padded(clips.MOV, 12<<20))))
	resp, body = fetch(t, http.MethodGet, r.Str("video.play_url"), map[string]string{"Range": "bytes=-4"})
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Equal(t, fmt.Sprintf("bytes %d-%d/%d", 12<<20-4, 12<<20-1, 12<<20), resp.Header.Get("Content-Range"))
	require.Len(t, body, 4)
}

func TestFeedPagesThroughTheWholeCatalogueExactlyOnce(t *testing.T) {
	const authors, each = 4, 28
	accts := make([]account, authors)
	for i := range accts {
		accts[i] = signUp(t, "pager")
	}
	var wg sync.WaitGroup
	errs := make(chan error, authors*each)
	// Two publishers per author race for the id sequence and for the
	// author's count and list.
	for _, a := range accts {
		for half := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := half; i < each; i += 2 {
					if err := tryPublish(a, fmt.Sprintf("%s #%d", a.Name, i), clips.MP4); err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, a := range accts {
		me := ok(t, get(t, "/douyin/user/", vals("token", a.Token)))
		require.Equal(t, int64(each), me.Int("user.work_count"))
		list := videoList(t, ok(t, get(t, "/douyin/publish/list/", vals("token", a.Token))))
		require.Len(t, list, each)
		for i := 1; i < len(list); i++ {
			require.Greater(t, num(t, list[i-1]["id"]), num(t, list[i]["id"]), "newest first")
		}
	}

	// Page through everything while more videos are published.
	stop := make(chan struct{})
	published := make(chan int, 1)
	go func() {
		n := 0
		defer func() { published <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if tryPublish(accts[0], "while paging", clips.MP4) == nil {
				n++
			}
		}
	}()
	var ids, times []int64
	params := url.Values{}
	for page := 0; ; page++ {
		r := ok(t, get(t, "/douyin/feed/", params))
		list := videoList(t, r)
		require.LessOrEqual(t, len(list), 30)
		if len(list) == 0 {
			break
		}
		for _, v := range list {
			ids = append(ids, num(t, v["id"]))
		}
		next := r.Int("next_time")
		times = append(times, next)
		params = vals("latest_time", strconv.FormatInt(next, 10))
		require.Less(t, page, 1000, "paging does not end")
	}
	close(stop)
	require.Positive(t, <-published, "videos were published while paging")

	require.GreaterOrEqual(t, len(ids), authors*each)
	for i, id := range ids {
		require.Equal(t, ids[0]-int64(i), id, "every video exactly once, newest first, no gaps")
	}
	require.Equal(t, int64(1), ids[len(ids)-1], "down to the first video")
	for i := 1; i < len(times); i++ {
		require.Less(t, times[i], times[i-1], "next_time goes back in time")
	}
}

func TestFeedStartsAtAnyLatestTime(t *testing.T) {
	a := signUp(t, "latest")
	var made []map[string]any
	for i := range 5 {
		ok(t, publish(t, a, fmt.Sprintf("at %d", i), clips.MP4))
		time.Sleep(3 * time.Millisecond)
	}
	made = videoList(t, ok(t, get(t, "/douyin/publish/list/", vals("token", a.Token))))
	require.Len(t, made, 5)

	// made is newest first; each video's own time excludes it.
	for i := 0; i+1 < len(made); i++ {
		created := firstCreatedAt(t, made[i])
		r := ok(t, get(t, "/douyin/feed/", vals("latest_time", strconv.FormatInt(created, 10))))
		list := videoList(t, r)
		require.NotEmpty(t, list)
		require.Equal(t, num(t, made[i]["id"])-1, num(t, list[0]["id"]), "strictly before latest_time")

		// A time just after a video that is no video's own time starts the
		// page at that video.
		r = ok(t, get(t, "/douyin/feed/", vals("latest_time", strconv.FormatInt(created+1, 10))))
		require.Equal(t, num(t, made[i]["id"]), num(t, videoList(t, r)[0]["id"]))
	}

	created := firstCreatedAt(t, made[0])
	secs := created / 1000
	r := ok(t, get(t, "/douyin/feed/", vals("latest_time", strconv.FormatInt(secs, 10))))
	for _, v := range videoList(t, r) {
		require.Less(t, firstCreatedAt(t, v), secs*1000, "a time in seconds counts as seconds")
	}
	r = ok(t, get(t, "/douyin/feed/", vals("latest_time", "1")))
	require.Empty(t, videoList(t, r), "nothing was published before 1970")
	require.Equal(t, int64(1000), r.Int("next_time"), "one second, in milliseconds")
}

// firstCreatedAt learns a video's publish time: the next_time of a feed page
// that starts just after it and ends at it.
func firstCreatedAt(t *testing.T, v map[string]any) int64 {
	t.Helper()
	id := num(t, v["id"])
	// The video service's batch knows every video's publish time.
	spec := loadSpec(t, "services/video/api.yaml")
	r := invoke(t, spec, "video", http.MethodPost, "/v1/videos/batch", map[string]any{"ids": []int64{id}})
	videos := r.Body["videos"].([]any)
	require.Len(t, videos, 1)
	return num(t, videos[0].(map[string]any)["created_at"])
}

func TestFeedRejectsBadLatestTime(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{"abc", "latest_time must be a Unix time"},
		{"-5", "latest_time must not be negative"},
		{"1.5", "latest_time must be a Unix time"},
	} {
		t.Run(c.value, func(t *testing.T) {
			fails(t, get(t, "/douyin/feed/", vals("latest_time", c.value)), http.StatusBadRequest, c.want)
		})
	}
}

func TestPublishRejectsBadInputAndStoresNothing(t *testing.T) {
	a := signUp(t, "bad")
	other := signUp(t, "bad2")
	headBefore := feedHead(t)
	filesBefore := mediaFiles(t)

	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02")
	fakeMP4 := append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41"),
		bytes.Repeat([]byte("not really a video "), 200)...)
	tok, title := textPart("token", a.Token), textPart("title", "bad input")
	cases := []struct {
		name   string
		header http.Header
		parts  []part
		status int
		want   string
	}{
		{"no file", nil, []part{tok, title}, 400, "data is required"},
		{"empty file", nil, []part{tok, title, filePart(bytes.NewReader(nil))}, 400, "is empty"},
		{"empty file first", nil, []part{filePart(bytes.NewReader(nil)), tok, title}, 400, "is empty"},
		{"not a video", nil, []part{tok, title, filePart(bytes.NewReader(png))}, 400, "not a supported video"},
		{"text named mp4", nil, []part{filePart(strings.NewReader("hello, world")), tok, title}, 400,
			"not a supported video"},
		{"over the limit", nil, []part{tok, title, filePart(clips.Padded(clips.MP4, maxUpload+1))}, 413,
			"larger than the limit of 100 MiB"},
		{"over the limit, file first", nil, []part{filePart(clips.Padded(clips.MP4, maxUpload+1)), tok, title},
			413, "larger than the limit of 100 MiB"},
		{"missing title", nil, []part{tok, filePart(bytes.NewReader(clips.MP4))}, 400, "title must be 1 to 100"},
		{"blank title", nil, []part{tok, textPart("title", "   "), filePart(bytes.NewReader(clips.MP4))}, 400,
			"title must be 1 to 100"},
		{"over-long title", nil, []part{tok, textPart("title", strings.Repeat("x", 101)),
			filePart(bytes.NewReader(clips.MP4))}, 400, "title must be 1 to 100"},
		{"missing token", nil, []part{title, filePart(bytes.NewReader(clips.MP4))}, 401, "token is required"},
		{"bad token", nil, []part{textPart("token", "not-a-token"), title, filePart(bytes.NewReader(clips.MP4))},
			401, "token is invalid"},
		{"bad token after file", nil, []part{filePart(bytes.NewReader(clips.MP4)), title,
			textPart("token", a.Token+"x")}, 401, "token is invalid"},
		{"two files", nil, []part{filePart(bytes.NewReader(clips.MP4)), filePart(bytes.NewReader(clips.MP4)),
			tok, title}, 400, "one video file"},
	}
	if hasFFmpeg() {
		cases = append(cases, struct {
			name   string
			header http.Header
			parts  []part
			status int
			want   string
		}{"mp4 header on garbage", nil, []part{tok, title, filePart(bytes.NewReader(fakeMP4))}, 400,
			"could not be decoded"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fails(t, upload(t, nil, c.header, c.parts...), c.status, c.want)
		})
	}

	t.Run("not multipart", func(t *testing.T) {
		fails(t, call(t, http.MethodPost, "/douyin/publish/action/", inForm,
			vals("token", a.Token, "title", "x", "data", "abc")), 400, "multipart/form-data")
	})

	require.Equal(t, headBefore, feedHead(t), "nothing reached the feed")
	require.Equal(t, filesBefore, mediaFiles(t), "no blob was left behind")
	for _, acct := range []account{a, other} {
		me := ok(t, get(t, "/douyin/user/", vals("token", acct.Token)))
		require.Equal(t, int64(0), me.Int("user.work_count"))
		require.Empty(t, videoList(t, ok(t, get(t, "/douyin/publish/list/", vals("token", acct.Token)))))
	}
}

// invokeRaw calls a service's internal API through the gateway's sidecar
// with a raw body, and checks the exchange against spec.
func invokeRaw(t *testing.T, spec *contract.Spec, appID, method, path, contentType string,
	body []byte, header map[string]string,
) (*http.Response, []byte) {
	t.Helper()
	gw := mesh.App("gateway")
	u := fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke/%s/method%s", gw.DaprHTTPPort, appID, path)
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("dapr-api-token", mesh.DaprAPIToken())
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	err = spec.Check(context.Background(), contract.Exchange{
		Method: method, Path: path, ContentType: contentType, Body: body,
		Status: resp.StatusCode, RespHeader: resp.Header, RespBody: respBody,
	})
	require.NoError(t, err, "%s %s answered %d: %.300s", method, path, resp.StatusCode, respBody)
	return resp, respBody
}

func TestVideoServiceContract(t *testing.T) {
	spec := loadSpec(t, "services/video/api.yaml")
	a := signUp(t, "vcontract")
	q := func(title string, size int) string {
		return fmt.Sprintf("/v1/videos?author_id=%d&title=%s&size=%d", a.ID, url.QueryEscape(title), size)
	}

	resp, body := invokeRaw(t, spec, "video", http.MethodPost, q("contract", len(clips.MP4)),
		"application/octet-stream", clips.MP4, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var published struct {
		Video struct {
			ID        int64  `json:"id"`
			PlayPath  string `json:"play_path"`
			CoverPath string `json:"cover_path"`
		} `json:"video"`
	}
	require.NoError(t, json.Unmarshal(body, &published))
	id := published.Video.ID

	// Refusals travel as HTTP 200 with their status_code.
	refusal := func(body []byte) int64 {
		var env struct {
			StatusCode int64 `json:"status_code"`
		}
		require.NoError(t, json.Unmarshal(body, &env), "%s", body)
		return env.StatusCode
	}
	_, body = invokeRaw(t, spec, "video", http.MethodPost, q("cut off", len(clips.MP4)+10),
		"application/octet-stream", clips.MP4, nil)
	require.Equal(t, int64(http.StatusBadRequest), refusal(body), "a body shorter than its size is cut off")
	_, body = invokeRaw(t, spec, "video", http.MethodPost, q("too big", maxUpload+1),
		"application/octet-stream", clips.MP4, nil)
	require.Equal(t, int64(http.StatusRequestEntityTooLarge), refusal(body))
	_, body = invokeRaw(t, spec, "video", http.MethodPost, q("text", 5),
		"application/octet-stream", []byte("hello"), nil)
	require.Equal(t, int64(http.StatusBadRequest), refusal(body))

	feed := invoke(t, spec, "video", http.MethodGet, "/v1/feed?limit=5", nil)
	require.Equal(t, id, num(t, feed.Body["videos"].([]any)[0].(map[string]any)["id"]))
	invoke(t, spec, "video", http.MethodGet, "/v1/feed", nil)
	bad := invoke(t, spec, "video", http.MethodGet, "/v1/feed?before=-1", nil)
	require.Equal(t, int64(http.StatusBadRequest), bad.Code())

	batch := invoke(t, spec, "video", http.MethodPost, "/v1/videos/batch",
		map[string]any{"ids": []int64{id, 900719925474099, id}})
	require.Len(t, batch.Body["videos"], 1, "unknown ids are left out and duplicates folded: %s", batch.Raw)

	list := invoke(t, spec, "video", http.MethodGet, fmt.Sprintf("/v1/authors/%d/videos", a.ID), nil)
	require.Len(t, list.Body["videos"], 1)

	works := invoke(t, spec, "video", http.MethodPost, "/v1/authors/works",
		map[string]any{"ids": []int64{a.ID, 900719925474099, a.ID}})
	counts := works.Body["counts"].([]any)
	require.Len(t, counts, 2, "%s", works.Raw)
	require.Equal(t, int64(1), num(t, counts[0].(map[string]any)["works"]))
	require.Equal(t, int64(0), num(t, counts[1].(map[string]any)["works"]))

	missing := invoke(t, spec, "video", http.MethodGet, "/v1/media/videos/900719925474099.mp4", nil)
	require.Equal(t, int64(http.StatusNotFound), missing.Code(), "%s", missing.Raw)
	resp, body = fetchInternal(t, published.Video.PlayPath, map[string]string{"Range": "bytes=0-99"})
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Equal(t, clips.MP4[:100], body)
	resp, _ = fetchInternal(t, published.Video.CoverPath, nil)
	require.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
}

// fetchInternal gets a media path from the video service through the
// gateway's sidecar.
func fetchInternal(t *testing.T, path string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	u := fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke/video/method/v1%s", mesh.App("gateway").DaprHTTPPort, path)
	header = maps.Clone(header)
	if header == nil {
		header = map[string]string{}
	}
	header["dapr-api-token"] = mesh.DaprAPIToken()
	return fetch(t, http.MethodGet, u, header)
}

func TestDemoSeedsALivingFeedOnce(t *testing.T) {
	api := apiclient.New(mesh.GatewayURL())
	var log strings.Builder
	logf := func(format string, args ...any) { fmt.Fprintf(&log, format+"\n", args...) }
	require.NoError(t, demo.Seed(context.Background(), api, logf))
	want := 0
	for _, u := range demo.Users {
		want += len(u.Titles)
	}
	require.Equal(t, want, strings.Count(log.String(), "published"), log.String())

	feed := videoList(t, ok(t, get(t, "/douyin/feed/", nil)))
	require.GreaterOrEqual(t, len(feed), want)
	names := map[string]bool{}
	for _, u := range demo.Users {
		names[u.Name] = true
	}
	for _, v := range feed[:want] {
		require.True(t, names[v["author"].(map[string]any)["name"].(string)], "the newest videos are the demo's")
	}
	require.Equal(t, "margaret", feed[0]["author"].(map[string]any)["name"])
	resp, body := fetch(t, http.MethodGet, feed[0]["cover_url"].(string), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, _, err := image.Decode(bytes.NewReader(body))
	require.NoError(t, err)

	// Each user follows the next two, likes every video of the next one and
	// comments once on the next one's videos.
	ids := map[string]int64{}
	for _, v := range feed[:want] {
		author := v["author"].(map[string]any)
		ids[author["name"].(string)] = num(t, author["id"])
	}
	social := func() error {
		comments := int64(0)
		for i, u := range demo.Users {
			next := demo.Users[(i+1)%len(demo.Users)]
			got, err := tryUser("", ids[u.Name])
			if err != nil {
				return err
			}
			if got.FollowCount != 2 || got.FollowerCount != 2 ||
				got.FavoriteCount != int64(len(next.Titles)) || got.TotalFavorited != int64(len(u.Titles)) {
				return fmt.Errorf("%s shows %+v", u.Name, got)
			}
			list, err := tryVideoList("/douyin/publish/list/", "", ids[u.Name])
			if err != nil {
				return err
			}
			for _, v := range list {
				if v.FavoriteCount != 1 {
					return fmt.Errorf("%s's video %d has %d likes", u.Name, v.ID, v.FavoriteCount)
				}
				comments += v.CommentCount
			}
		}
		if comments != int64(len(demo.Users)) {
			return fmt.Errorf("the demo videos have %d comments", comments)
		}
		return nil
	}
	settle(t, "the demo's likes, comments and follows", social)

	log.Reset()
	require.NoError(t, demo.Seed(context.Background(), api, logf), "seeding again")
	require.Zero(t, strings.Count(log.String(), "published"), "nothing is published twice: %s", log.String())
	require.Equal(t, feedHead(t), num(t, feed[0]["id"]))
	settle(t, "the demo seeded again", social)
}
