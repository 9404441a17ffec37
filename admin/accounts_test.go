package admin

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
)

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h := HashPassword("correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not an argon2id PHC string with the expected parameters", h)
	}
	if !VerifyPassword(h, "correct horse") {
		t.Error("VerifyPassword rejects the right password")
	}
	if VerifyPassword(h, "correct horsE") {
		t.Error("VerifyPassword accepts a wrong password")
	}
	if h2 := HashPassword("correct horse"); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=0,t=2,p=1$c2FsdA$aGFzaA", strings.Replace(h, "$v=19$", "$v=18$", 1)} {
		if VerifyPassword(bad, "correct horse") {
			t.Errorf("VerifyPassword(%q) accepted a malformed hash", bad)
		}
	}
}

// exerciseAccounts runs the account behaviours on one SQL store, so the
// SQL is proven on every dialect.
func exerciseAccounts(t *testing.T, store eventlog.SQLStore) {
	ctx := context.Background()
	a, err := NewAccounts(store)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := a.EnsureAdmin(ctx)
	if err != nil || len(pw) < 20 {
		t.Fatalf("EnsureAdmin on an empty table = %q, %v; want a random password", pw, err)
	}
	if err := a.Authenticate(ctx, "admin", pw); err != nil {
		t.Fatalf("the printed admin password does not log in: %v", err)
	}
	if pw2, err := a.EnsureAdmin(ctx); err != nil || pw2 != "" {
		t.Fatalf("EnsureAdmin with a user present = %q, %v; want no new password", pw2, err)
	}
	if err := a.CreateUser(ctx, "alice", "s3cret-pass"); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateUser(ctx, "alice", "other-pass"); !errors.Is(err, ErrUserExists) {
		t.Errorf("second CreateUser alice: %v, want ErrUserExists", err)
	}
	var ve *eventlog.ValidationError
	if err := a.CreateUser(ctx, "bob", "short"); !errors.As(err, &ve) || ve.Field != "password" {
		t.Errorf("short password: %v, want a ValidationError naming password", err)
	}
	if err := a.CreateUser(ctx, "with space", "long enough"); !errors.As(err, &ve) || ve.Field != "name" {
		t.Errorf("name with a space: %v, want a ValidationError naming name", err)
	}
	if err := a.Authenticate(ctx, "alice", "wrong-pass"); !errors.Is(err, ErrBadPassword) {
		t.Errorf("wrong password: %v, want ErrBadPassword", err)
	}
	if err := a.Authenticate(ctx, "nobody", "s3cret-pass"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("unknown user: %v, want ErrUnknownUser", err)
	}
	if err := a.SetPassword(ctx, "alice", "new-s3cret"); err != nil {
		t.Fatal(err)
	}
	if err := a.Authenticate(ctx, "alice", "s3cret-pass"); !errors.Is(err, ErrBadPassword) {
		t.Errorf("old password after SetPassword: %v, want ErrBadPassword", err)
	}
	if err := a.Authenticate(ctx, "alice", "new-s3cret"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if err := a.SetPassword(ctx, "nobody", "new-s3cret"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("SetPassword nobody: %v, want ErrUnknownUser", err)
	}
	users, err := a.Users(ctx)
	if err != nil || len(users) != 2 || users[0].Name != "admin" || users[1].Name != "alice" || users[1].CreatedAt.IsZero() {
		t.Errorf("Users = %+v, %v; want admin and alice with creation times", users, err)
	}
	if err := a.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteUser(ctx, "alice"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("second DeleteUser: %v, want ErrUnknownUser", err)
	}
	k1, err := a.SessionKey(ctx)
	if err != nil || len(k1) != 32 {
		t.Fatalf("SessionKey = %x, %v", k1, err)
	}
	k2, err := a.SessionKey(ctx)
	if err != nil || string(k1) != string(k2) {
		t.Errorf("SessionKey changed between calls: %x then %x (%v)", k1, k2, err)
	}
}

func TestAccountsPostgres(t *testing.T) {
	t.Parallel()
	exerciseAccounts(t, pgTestStore(t))
}

func TestAccountsMySQL(t *testing.T) {
	t.Parallel()
	exerciseAccounts(t, mysqlTestStore(t))
}
