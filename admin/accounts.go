package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/eventlog/eventlog"
)

// Errors returned by Accounts.
var (
	// ErrUserExists means an admin user with that name already exists.
	ErrUserExists = errors.New("admin user already exists")
	// ErrUnknownUser means no admin user has that name.
	ErrUnknownUser = errors.New("no such admin user")
	// ErrBadPassword means the password does not match.
	ErrBadPassword = errors.New("wrong password")
)

// MinPasswordLen is the shortest password CreateUser and SetPassword accept.
const MinPasswordLen = 8

// sessionKeySetting names the row of eventlog_settings holding the
// session signing key.
const sessionKeySetting = "admin_session_key"

// argon2id parameters: OWASP's minimum recommendation (19 MiB, 2
// passes, 1 lane), modest enough for a small server under a login burst.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Accounts manages the admin users kept in the table eventlog_admins of a
// SQL store, and the session signing key kept in eventlog_settings.
type Accounts struct {
	db      *sql.DB
	dialect string
	now     func() time.Time
}

// NewAccounts returns the accounts of the store's database. The store's
// migrations must have created the eventlog_admins and eventlog_settings
// tables.
func NewAccounts(store eventlog.SQLStore) (*Accounts, error) {
	if store == nil || store.SQLDB() == nil {
		return nil, errors.New("admin.NewAccounts: store is nil")
	}
	switch store.Dialect() {
	case "sqlite", "postgres", "mysql":
	default:
		return nil, fmt.Errorf("admin.NewAccounts: dialect %q is not sqlite, postgres or mysql: %w", store.Dialect(), eventlog.ErrNotSupported)
	}
	return &Accounts{db: store.SQLDB(), dialect: store.Dialect(), now: time.Now}, nil
}

// q rewrites the "?" placeholders of query for the dialect, and quotes
// the settings column "key", a reserved word in MySQL.
func (a *Accounts) q(query string) string {
	if a.dialect == "mysql" {
		return strings.ReplaceAll(query, `"key"`, "`key`")
	}
	if a.dialect != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// AdminUser is one admin account, without its password hash.
type AdminUser struct {
	Name      string
	CreatedAt time.Time
}

// ValidateName checks an admin user name: 1–128 characters, no spaces or
// control characters.
func ValidateName(name string) error {
	if name == "" {
		return &eventlog.ValidationError{Field: "name", Index: -1, Message: "is required"}
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 128 {
		return &eventlog.ValidationError{Field: "name", Index: -1, Message: "must be valid UTF-8 of at most 128 characters"}
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return &eventlog.ValidationError{Field: "name", Index: -1, Message: "must not contain spaces or control characters"}
		}
	}
	return nil
}

func validatePassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return &eventlog.ValidationError{Field: "password", Index: -1, Message: fmt.Sprintf("must be at least %d characters", MinPasswordLen)}
	}
	if len(pw) > 1024 {
		return &eventlog.ValidationError{Field: "password", Index: -1, Message: "must be at most 1024 bytes"}
	}
	return nil
}

// CreateUser adds an admin user. A name already taken is ErrUserExists.
func (a *Accounts) CreateUser(ctx context.Context, name, password string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if err := validatePassword(password); err != nil {
		return err
	}
	if _, err := a.hashOf(ctx, name); err == nil {
		return fmt.Errorf("%q: %w", name, ErrUserExists)
	} else if !errors.Is(err, ErrUnknownUser) {
		return err
	}
	_, err := a.db.ExecContext(ctx, a.q(`INSERT INTO eventlog_admins (name, password_hash, created_at) VALUES (?, ?, ?)`),
		name, HashPassword(password), a.now().UTC().UnixMicro())
	if err != nil {
		// A concurrent create of the same name loses on the primary key.
		if _, err2 := a.hashOf(ctx, name); err2 == nil {
			return fmt.Errorf("%q: %w", name, ErrUserExists)
		}
		return fmt.Errorf("creating admin user %q: %w", name, err)
	}
	return nil
}

// SetPassword changes a user's password, which also ends that user's
// sessions.
func (a *Accounts) SetPassword(ctx context.Context, name, password string) error {
	if err := validatePassword(password); err != nil {
		return err
	}
	res, err := a.db.ExecContext(ctx, a.q(`UPDATE eventlog_admins SET password_hash = ? WHERE name = ?`), HashPassword(password), name)
	if err != nil {
		return fmt.Errorf("setting password of %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%q: %w", name, ErrUnknownUser)
	}
	return nil
}

// DeleteUser removes an admin user, which also ends their sessions.
func (a *Accounts) DeleteUser(ctx context.Context, name string) error {
	res, err := a.db.ExecContext(ctx, a.q(`DELETE FROM eventlog_admins WHERE name = ?`), name)
	if err != nil {
		return fmt.Errorf("deleting admin user %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%q: %w", name, ErrUnknownUser)
	}
	return nil
}

// Users lists the admin users by name.
func (a *Accounts) Users(ctx context.Context) ([]AdminUser, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT name, created_at FROM eventlog_admins ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing admin users: %w", err)
	}
	defer rows.Close()
	var out []AdminUser
	for rows.Next() {
		var u AdminUser
		var us int64
		if err := rows.Scan(&u.Name, &us); err != nil {
			return nil, fmt.Errorf("listing admin users: %w", err)
		}
		u.CreatedAt = time.UnixMicro(us).UTC()
		out = append(out, u)
	}
	return out, rows.Err()
}

// Authenticate checks name and password. A wrong password is
// ErrBadPassword, an unknown name ErrUnknownUser; the time taken is the
// same either way so the answer does not reveal which names exist.
func (a *Accounts) Authenticate(ctx context.Context, name, password string) error {
	hash, err := a.hashOf(ctx, name)
	if errors.Is(err, ErrUnknownUser) {
		VerifyPassword(dummyHash(), password)
		return err
	}
	if err != nil {
		return err
	}
	if !VerifyPassword(hash, password) {
		return ErrBadPassword
	}
	return nil
}

// dummyHash is computed on first use, not at package init: argon2id takes
// ~0.2 s, which every eventlog command paid at start-up before.
var dummyHash = sync.OnceValue(func() string { return HashPassword("not a password anyone has") })

func (a *Accounts) hashOf(ctx context.Context, name string) (string, error) {
	var h string
	err := a.db.QueryRowContext(ctx, a.q(`SELECT password_hash FROM eventlog_admins WHERE name = ?`), name).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%q: %w", name, ErrUnknownUser)
	}
	if err != nil {
		return "", fmt.Errorf("reading admin user %q: %w", name, err)
	}
	return h, nil
}

// EnsureAdmin creates the user "admin" with a random password when no
// admin user exists at all, and returns that password so `eventlog
// serve` can print it once. It returns "" when a user already exists.
func (a *Accounts) EnsureAdmin(ctx context.Context) (password string, err error) {
	var one int
	err = a.db.QueryRowContext(ctx, `SELECT 1 FROM eventlog_admins LIMIT 1`).Scan(&one)
	if err == nil {
		return "", nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("checking for admin users: %w", err)
	}
	password = randomToken(18)
	if err := a.CreateUser(ctx, "admin", password); err != nil {
		if errors.Is(err, ErrUserExists) {
			return "", nil
		}
		return "", err
	}
	return password, nil
}

// SessionKey returns the 32-byte session signing key, creating and
// storing it the first time so that every server sharing the database
// signs alike and sessions survive a restart.
func (a *Accounts) SessionKey(ctx context.Context) ([]byte, error) {
	var v string
	err := a.db.QueryRowContext(ctx, a.q(`SELECT value FROM eventlog_settings WHERE "key" = ?`), sessionKeySetting).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		ins := `INSERT INTO eventlog_settings ("key", value) VALUES (?, ?) ON CONFLICT DO NOTHING`
		if a.dialect == "mysql" {
			ins = `INSERT IGNORE INTO eventlog_settings ("key", value) VALUES (?, ?)`
		}
		if _, err := a.db.ExecContext(ctx, a.q(ins), sessionKeySetting, randomHex(32)); err != nil {
			return nil, fmt.Errorf("storing the session key: %w", err)
		}
		// Read back: a concurrent server may have stored its key first.
		err = a.db.QueryRowContext(ctx, a.q(`SELECT value FROM eventlog_settings WHERE "key" = ?`), sessionKeySetting).Scan(&v)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the session key: %w", err)
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("setting %s is not 32 hex-encoded bytes", sessionKeySetting)
	}
	return key, nil
}

// HashPassword returns the argon2id hash of password in PHC string form:
// $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH.
func HashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	sum := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(sum))
}

// VerifyPassword reports whether password matches a hash made by
// HashPassword (with any argon2id parameters), in constant time.
func VerifyPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<21 || t == 0 || t > 64 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// randomToken returns n random bytes, URL-safe base64 encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
