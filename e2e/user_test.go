package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRegisterLoginAndInfo(t *testing.T) {
	name := uniqueName("ada")
	reg := ok(t, post(t, "/douyin/user/register/", vals("username", name, "password", "lovelace")))
	id := reg.Int("user_id")
	require.Positive(t, id)
	require.NotEmpty(t, reg.Str("token"))

	login := ok(t, post(t, "/douyin/user/login/", vals("username", name, "password", "lovelace")))
	require.Equal(t, id, login.Int("user_id"))

	info := ok(t, get(t, "/douyin/user/", vals("user_id", "1", "token", login.Str("token"))))
	require.True(t, info.Has("user.id"))

	me := ok(t, get(t, "/douyin/user/", vals("token", login.Str("token"))))
	require.Equal(t, id, me.Int("user.id"))
	require.Equal(t, name, me.Str("user.name"))
	for _, key := range []string{"follow_count", "follower_count", "is_follow", "avatar",
		"background_image", "signature", "total_favorited", "work_count", "favorite_count"} {
		require.True(t, me.Has("user."+key), "user object lacks %s: %s", key, me.Raw)
	}
}

func TestRegisterRefusesBadInputAndKeepsTheClientKeys(t *testing.T) {
	taken := signUp(t, "taken")
	long := strings.Repeat("x", 33)
	cases := []struct {
		name       string
		params     url.Values
		httpStatus int
		msg        string
	}{
		{"no username", vals("password", "pw"), http.StatusBadRequest, "username is required"},
		{"no password", vals("username", uniqueName("np")), http.StatusBadRequest, "password is required"},
		{"empty username", vals("username", "", "password", "pw"), http.StatusBadRequest, "username is required"},
		{"username over 32", vals("username", long, "password", "pw"), http.StatusBadRequest, "1 to 32 characters"},
		{"password over 32", vals("username", uniqueName("lp"), "password", long), http.StatusBadRequest, "1 to 32 characters"},
		{"padded username", vals("username", " "+uniqueName("sp"), "password", "pw"), http.StatusBadRequest, "leading or trailing"},
		{"taken username", vals("username", taken.Name, "password", "pw"), http.StatusOK, "already taken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, "/douyin/user/register/", tc.params)
			fails(t, r, tc.httpStatus, tc.msg)
			require.Equal(t, int64(0), r.Int("user_id"), "user_id must be present and 0: %s", r.Raw)
			require.True(t, r.Has("token"), "token must be present: %s", r.Raw)
			require.Empty(t, r.Str("token"))
		})
	}

	// Nothing was stored: the refused names are still free, and the taken
	// one still belongs to its owner with the original password.
	free := uniqueName("free")
	fails(t, post(t, "/douyin/user/register/", vals("username", free, "password", long)),
		http.StatusBadRequest, "1 to 32")
	ok(t, post(t, "/douyin/user/register/", vals("username", free, "password", "pw")))
	login := ok(t, post(t, "/douyin/user/login/", vals("username", taken.Name, "password", "pw-"+taken.Name)))
	require.Equal(t, taken.ID, login.Int("user_id"))
}

func TestLoginRefusesWrongCredentials(t *testing.T) {
	a := signUp(t, "login")
	cases := map[string]url.Values{
		"wrong password": vals("username", a.Name, "password", "not-it"),
		"unknown user":   vals("username", uniqueName("ghost"), "password", "whatever"),
		"over-long":      vals("username", a.Name, "password", strings.Repeat("p", 40)),
	}
	for name, params := range cases {
		t.Run(name, func(t *testing.T) {
			r := post(t, "/douyin/user/login/", params)
			fails(t, r, http.StatusOK, "wrong username or password")
			require.Equal(t, int64(0), r.Int("user_id"))
			require.Empty(t, r.Str("token"))
		})
	}
	t.Run("missing password", func(t *testing.T) {
		fails(t, post(t, "/douyin/user/login/", vals("username", a.Name)), http.StatusBadRequest, "password is required")
	})
}

func TestTokensAreCheckedEverywhere(t *testing.T) {
	a := signUp(t, "tok")
	parts := strings.Split(a.Token, ".")
	require.Len(t, parts, 3)
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	cases := []struct {
		name, token, msg string
	}{
		{"malformed", "not-a-token", "token is invalid"},
		{"tampered signature", tampered, "token is invalid"},
		{"foreign key", signToken(t, []byte(strings.Repeat("k", 32)), a.ID, time.Hour), "token is invalid"},
		{"expired", signToken(t, signingKey(t), a.ID, -time.Minute), "token has expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, "/douyin/user/", vals("user_id", strconv.FormatInt(a.ID, 10), "token", tc.token))
			fails(t, r, http.StatusUnauthorized, tc.msg)
		})
	}
	t.Run("no token and no user_id", func(t *testing.T) {
		fails(t, get(t, "/douyin/user/", nil), http.StatusBadRequest, "user_id is required")
	})
	t.Run("bearer header", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, mesh.GatewayURL()+"/douyin/user/", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+a.Token)
		r := ok(t, do(t, req))
		require.Equal(t, a.ID, r.Int("user.id"))
	})
	t.Run("valid token signed with the store's key", func(t *testing.T) {
		r := ok(t, get(t, "/douyin/user/", vals("token", signToken(t, signingKey(t), a.ID, time.Hour))))
		require.Equal(t, a.ID, r.Int("user.id"))
	})
}

func TestUserIDParsing(t *testing.T) {
	a := signUp(t, "ids")
	id := strconv.FormatInt(a.ID, 10)
	good := map[string]string{
		"plain":          id,
		"float notation": strconv.FormatFloat(float64(a.ID), 'e', -1, 64),
		"trailing .0":    id + ".0",
	}
	for name, raw := range good {
		t.Run(name, func(t *testing.T) {
			r := ok(t, get(t, "/douyin/user/", vals("user_id", raw, "token", a.Token)))
			require.Equal(t, a.ID, r.Int("user.id"))
		})
	}
	bad := map[string]string{
		"not a number":  "abc",
		"fraction":      "1.5",
		"negative":      "-3",
		"zero":          "0",
		"beyond 2^53":   "9007199254740993",
		"huge float":    "1e300",
		"not a float":   "NaN",
		"empty-ish":     " ",
		"hex":           "0x10",
		"unknown range": "1e20",
	}
	for name, raw := range bad {
		t.Run(name, func(t *testing.T) {
			r := get(t, "/douyin/user/", vals("user_id", raw, "token", a.Token))
			fails(t, r, http.StatusBadRequest, "user_id")
		})
	}
	t.Run("unknown user", func(t *testing.T) {
		fails(t, get(t, "/douyin/user/", vals("user_id", "8999999999999", "token", a.Token)),
			http.StatusOK, "user not found")
	})
}

func TestParametersArriveFromAnywhere(t *testing.T) {
	for name, where := range map[string]how{"query": inQuery, "form": inForm, "multipart": inMultipart} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			for _, path := range []string{"/douyin/user/register/", "/douyin/user/register"} {
				t.Run(name+" "+method+" "+path, func(t *testing.T) {
					user := uniqueName("p")
					r := ok(t, call(t, method, path, where, vals("username", user, "password", "pw")))
					require.Positive(t, r.Int("user_id"))
					me := ok(t, call(t, method, "/douyin/user/", where, vals("token", r.Str("token"))))
					require.Equal(t, user, me.Str("user.name"))
				})
			}
		}
	}
}

func TestRacingRegistrationsOfOneNameHaveOneWinner(t *testing.T) {
	const racers = 16
	name := uniqueName("race")
	var wg sync.WaitGroup
	replies := make([]reply, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = post(t, "/douyin/user/register/",
				vals("username", name, "password", "pw"+strconv.Itoa(i)))
		}()
	}
	wg.Wait()

	winners := 0
	var winner int
	for i, r := range replies {
		if r.Code() == 0 {
			winners++
			winner = i
			continue
		}
		require.Contains(t, r.Msg(), "already taken", "%s", r.Raw)
	}
	require.Equal(t, 1, winners, "exactly one registration may win")
	ok(t, post(t, "/douyin/user/login/", vals("username", name, "password", "pw"+strconv.Itoa(winner))))
}

func TestUserIDsAreSmallAndSequential(t *testing.T) {
	first := signUp(t, "seq")
	second := signUp(t, "seq")
	third := signUp(t, "seq")
	require.Less(t, first.ID, second.ID)
	require.Less(t, second.ID, third.ID)
	require.Less(t, third.ID, int64(1_000_000), "ids stay small")
}

func TestConcurrentRegistrationsGetDistinctIDs(t *testing.T) {
	const users = 24
	var wg sync.WaitGroup
	got := make([]int64, users)
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := post(t, "/douyin/user/register/", vals("username", uniqueName("many"), "password", "pw"))
			got[i] = r.Int("user_id")
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, id := range got {
		require.Positive(t, id)
		require.False(t, seen[id], "id %d given twice", id)
		seen[id] = true
	}
	slices.Sort(got)
	require.Less(t, got[users-1]-got[0], int64(users*2), "ids stay dense: %v", got)
}
