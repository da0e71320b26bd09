package user

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Service implements the user service's business rules over a Store.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service on store.
func NewService(store Store) *Service {
	return &Service{store: store, now: time.Now}
}

// Register creates an account and returns its id. The name must be free;
// when two registrations of one name race, exactly one succeeds and the
// other gets ErrNameTaken.
func (s *Service) Register(ctx context.Context, name, password string) (int64, error) {
	if !validName(name) {
		return 0, ErrNameInvalid
	}
	if !validPassword(password) {
		return 0, ErrPasswordInvalid
	}

	switch _, err := s.store.IDByName(ctx, name); {
	case err == nil:
		return 0, ErrNameTaken
	case !errors.Is(err, ErrNotFound):
		return 0, fmt.Errorf("register: %w", err)
	}

	hash, err := hashPassword(password)
	if err != nil {
		return 0, fmt.Errorf("register: %w", err)
	}
	id, err := s.store.NextID(ctx)
	if err != nil {
		return 0, fmt.Errorf("register: %w", err)
	}
	acct := Account{ID: id, Name: name, PasswordHash: hash, CreatedAt: s.now().UnixMilli()}
	if err := s.store.Create(ctx, acct); err != nil {
		return 0, fmt.Errorf("register: %w", err)
	}
	return id, nil
}

// Login checks a username and password and returns the account's id, or
// ErrBadCredentials without saying which of the two was wrong.
func (s *Service) Login(ctx context.Context, name, password string) (int64, error) {
	if !validName(name) || !validPassword(password) {
		return 0, ErrBadCredentials
	}
	id, err := s.store.IDByName(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return 0, ErrBadCredentials
	}
	if err != nil {
		return 0, fmt.Errorf("login: %w", err)
	}
	acct, err := s.store.Account(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("login: %w", err)
	}
	ok, err := checkPassword(password, acct.PasswordHash)
	if err != nil {
		return 0, fmt.Errorf("login: user %d: %w", id, err)
	}
	if !ok {
		return 0, ErrBadCredentials
	}
	return id, nil
}

// Get returns one user, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id int64) (User, error) {
	users, err := s.store.Users(ctx, []int64{id})
	if err != nil {
		return User{}, fmt.Errorf("get user: %w", err)
	}
	if len(users) == 0 {
		return User{}, ErrNotFound
	}
	return users[0], nil
}

// Batch returns the users among ids that exist, once each, in the order of
// their first appearance in ids.
func (s *Service) Batch(ctx context.Context, ids []int64) ([]User, error) {
	if len(ids) > MaxBatch {
		return nil, ErrBatchTooLarge
	}
	uniq := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id > 0 && !slices.Contains(uniq, id) {
			uniq = append(uniq, id)
		}
	}
	users, err := s.store.Users(ctx, uniq)
	if err != nil {
		return nil, fmt.Errorf("batch users: %w", err)
	}
	return users, nil
}
