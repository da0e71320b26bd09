package user

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/douvo/douvo/internal/platform/sidecar"
)

// StoreName is the Dapr state store component the user service owns. The
// component is scoped to AppID, so no other service can read it.
const StoreName = "userstore"

// Account is a stored user: the public profile plus the password hash.
type Account struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	PasswordHash    string `json:"password_hash"`
	Avatar          string `json:"avatar,omitempty"`
	BackgroundImage string `json:"background_image,omitempty"`
	Signature       string `json:"signature,omitempty"`
	CreatedAt       int64  `json:"created_at"`
}

// Store is what the user service needs from storage.
type Store interface {
	// NextID allocates the next user id. Ids are sequential and unique
	// across every instance of the service sharing the store.
	NextID(ctx context.Context) (int64, error)
	// Create stores a new account; ErrNameTaken if its name exists.
	Create(ctx context.Context, a Account) error
	// IDByName resolves a username; ErrNotFound if unknown.
	IDByName(ctx context.Context, name string) (int64, error)
	// Account reads one account; ErrNotFound if unknown.
	Account(ctx context.Context, id int64) (Account, error)
	// Users reads the public view of the given ids in one round trip,
	// skipping unknown ids and keeping the order of ids.
	Users(ctx context.Context, ids []int64) ([]User, error)
}

// Keys of the user store. Dapr prefixes them with the app-id.
const seqKey = "seq"

func accountKey(id int64) string { return "account-" + strconv.FormatInt(id, 10) }

// nameKey encodes the username so that no character of it can clash with
// Dapr's key separator.
func nameKey(name string) string {
	return "name-" + base64.RawURLEncoding.EncodeToString([]byte(name))
}

// nameRecord is the value under a name key.
type nameRecord struct {
	ID int64 `json:"id"`
}

// DaprStore keeps users in a Dapr state store as JSON documents.
type DaprStore struct {
	dapr dapr.Client
	name string
}

// NewDaprStore returns a Store on the Dapr state store component called name.
func NewDaprStore(client dapr.Client, name string) *DaprStore {
	return &DaprStore{dapr: client, name: name}
}

// maxIDAttempts bounds the optimistic retries of id allocation under
// contention.
const maxIDAttempts = 64

// NextID increments the sequence with an ETag-guarded write, retrying when
// another instance won the race.
func (s *DaprStore) NextID(ctx context.Context) (int64, error) {
	for range maxIDAttempts {
		item, err := s.dapr.GetState(ctx, s.name, seqKey, nil)
		if err != nil {
			return 0, fmt.Errorf("read id sequence: %w", err)
		}
		var last int64
		if len(item.Value) > 0 {
			if err := json.Unmarshal(item.Value, &last); err != nil {
				return 0, fmt.Errorf("decode id sequence: %w", err)
			}
		}
		next := last + 1
		val := []byte(strconv.FormatInt(next, 10))
		var opts []dapr.StateOption
		if item.Etag != "" {
			opts = append(opts, dapr.WithConcurrency(dapr.StateConcurrencyFirstWrite))
			err = s.dapr.SaveStateWithETag(ctx, s.name, seqKey, val, item.Etag, nil, opts...)
		} else {
			err = s.dapr.SaveState(ctx, s.name, seqKey, val, nil,
				dapr.WithConcurrency(dapr.StateConcurrencyFirstWrite))
		}
		if err == nil {
			return next, nil
		}
		if sidecar.IsETagMismatch(err) || s.seqMoved(ctx, item.Etag) {
			continue
		}
		return 0, fmt.Errorf("advance id sequence: %w", err)
	}
	return 0, errors.New("advance id sequence: too much contention")
}

// seqMoved reports whether the sequence changed since it was read with
// etag: the write lost a race. Stores report a lost first write differently
// (Redis answers a plain error), so the sequence itself tells.
func (s *DaprStore) seqMoved(ctx context.Context, etag string) bool {
	item, err := s.dapr.GetState(ctx, s.name, seqKey, nil)
	return err == nil && item.Etag != etag
}

// Create stores the account, then claims its name with a first write, so
// that of two racing registrations of one name exactly one commits. The two
// writes are single-key operations on purpose: not every state store rolls a
// failed transaction back (Redis applies the rest of a MULTI), but every one
// honours a single first write. A registration that loses the name removes
// its account again; one that crashes between the writes leaves an account
// no name points to, which can never be signed in to.
func (s *DaprStore) Create(ctx context.Context, a Account) error {
	acctVal, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode account: %w", err)
	}
	nameVal, err := json.Marshal(nameRecord{ID: a.ID})
	if err != nil {
		return fmt.Errorf("encode name record: %w", err)
	}
	if err := s.dapr.SaveState(ctx, s.name, accountKey(a.ID), acctVal, nil); err != nil {
		return fmt.Errorf("save account: %w", err)
	}

	claimErr := s.dapr.SaveState(ctx, s.name, nameKey(a.Name), nameVal, nil,
		dapr.WithConcurrency(dapr.StateConcurrencyFirstWrite))
	if claimErr == nil {
		return nil
	}
	// Stores report a lost first write differently; the name record tells.
	owner, err := s.IDByName(ctx, a.Name)
	if err != nil || owner == a.ID {
		return fmt.Errorf("claim name: %w", claimErr)
	}
	if err := s.dapr.DeleteState(ctx, s.name, accountKey(a.ID), nil); err != nil {
		return fmt.Errorf("remove account of lost registration: %w", err)
	}
	return ErrNameTaken
}

// IDByName reads the name record.
func (s *DaprStore) IDByName(ctx context.Context, name string) (int64, error) {
	item, err := s.dapr.GetState(ctx, s.name, nameKey(name), nil)
	if err != nil {
		return 0, fmt.Errorf("read name record: %w", err)
	}
	if len(item.Value) == 0 {
		return 0, ErrNotFound
	}
	var rec nameRecord
	if err := json.Unmarshal(item.Value, &rec); err != nil {
		return 0, fmt.Errorf("decode name record: %w", err)
	}
	return rec.ID, nil
}

// Account reads one account.
func (s *DaprStore) Account(ctx context.Context, id int64) (Account, error) {
	item, err := s.dapr.GetState(ctx, s.name, accountKey(id), nil)
	if err != nil {
		return Account{}, fmt.Errorf("read account: %w", err)
	}
	if len(item.Value) == 0 {
		return Account{}, ErrNotFound
	}
	var a Account
	if err := json.Unmarshal(item.Value, &a); err != nil {
		return Account{}, fmt.Errorf("decode account: %w", err)
	}
	return a, nil
}

// Users reads the accounts of ids with one bulk read.
func (s *DaprStore) Users(ctx context.Context, ids []int64) ([]User, error) {
	if len(ids) == 0 {
		return []User{}, nil
	}
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, accountKey(id))
	}
	items, err := s.dapr.GetBulkState(ctx, s.name, keys, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("bulk read users: %w", err)
	}
	byKey := make(map[string][]byte, len(items))
	for _, it := range items {
		if it.Error != "" {
			return nil, fmt.Errorf("bulk read users: key %s: %s", it.Key, it.Error)
		}
		byKey[it.Key] = it.Value
	}

	users := make([]User, 0, len(ids))
	for _, id := range ids {
		raw := byKey[accountKey(id)]
		if len(raw) == 0 {
			continue
		}
		var a Account
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("decode account %d: %w", id, err)
		}
		users = append(users, User{ID: a.ID, Name: a.Name, Avatar: a.Avatar,
			BackgroundImage: a.BackgroundImage, Signature: a.Signature})
	}
	return users, nil
}
