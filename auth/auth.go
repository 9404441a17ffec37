package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/eventlog/eventlog"
)

// Scope says what a token may do.
type Scope string

// Scopes.
const (
	// Write may only ingest events.
	Write Scope = "write"
	// Read may only query and stream events.
	Read Scope = "read"
	// Admin may ingest, query and stream.
	Admin Scope = "admin"
)

// ParseScope reads a scope name: write, read or admin.
func ParseScope(s string) (Scope, error) {
	switch sc := Scope(s); sc {
	case Write, Read, Admin:
		return sc, nil
	}
	return "", fmt.Errorf("scope %q must be write, read or admin: %w", s, eventlog.ErrInvalid)
}

// Allows reports whether a token of scope s may do what needs scope need.
func (s Scope) Allows(need Scope) bool { return s == Admin || s == need }

// Errors.
var (
	// ErrUnauthenticated means no token was given or the token is unknown.
	ErrUnauthenticated = errors.New("missing or unknown API token")
	// ErrForbidden means the token's scope does not allow the request.
	ErrForbidden = errors.New("the API token's scope does not allow this")
	// ErrNameTaken means a token with this name already exists.
	ErrNameTaken = errors.New("a token with this name already exists")
)

// Token describes a stored token; the secret itself is never kept.
type Token struct {
	Name      string    `json:"name"`
	Scope     Scope     `json:"scope"`
	CreatedAt time.Time `json:"created_at"`
}

// Config configures Tokens. A nil *Config means all defaults.
type Config struct {
	// CacheTTL is how long Authenticate trusts its in-memory copy of the
	// token table before reading it again, so that a token created or
	// revoked by another process (`eventlog token revoke`) takes effect
	// within this time. Defaults to 2 seconds.
	CacheTTL time.Duration
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// Tokens manages API tokens in eventlog_tokens. It is safe for
// concurrent use.
type Tokens struct {
	db      *sql.DB
	dialect string
	ttl     time.Duration
	now     func() time.Time

	mu       sync.Mutex
	cache    []cachedToken
	loadedAt time.Time
}

type cachedToken struct {
	Token
	hash [sha256.Size]byte
}

// New returns Tokens stored in the database of store, which must
// implement eventlog.SQLStore (every SQL store does).
func New(store eventlog.Store, cfg *Config) (*Tokens, error) {
	ss, ok := store.(eventlog.SQLStore)
	if !ok {
		return nil, fmt.Errorf("auth: store %T keeps no SQL tables for tokens: %w", store, eventlog.ErrNotSupported)
	}
	if cfg == nil {
		cfg = &Config{}
	}
	t := &Tokens{db: ss.SQLDB(), dialect: ss.Dialect(), ttl: cfg.CacheTTL, now: cfg.Now}
	if t.ttl == 0 {
		t.ttl = 2 * time.Second
	}
	if t.ttl < 0 {
		return nil, fmt.Errorf("auth.New: CacheTTL %v must not be negative", cfg.CacheTTL)
	}
	if t.now == nil {
		t.now = time.Now
	}
	return t, nil
}

// TokenPrefix starts every token so secret scanners can recognize it.
const TokenPrefix = "evl_"

// MaxNameLen bounds a token name.
const MaxNameLen = 64

// CheckName validates a token name: 1–64 characters, no spaces or
// control characters.
func CheckName(name string) error {
	if name == "" {
		return fmt.Errorf("token name is required: %w", eventlog.ErrInvalid)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("token name is %d bytes long; the limit is %d: %w", len(name), MaxNameLen, eventlog.ErrInvalid)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("token name %q must not contain spaces or control characters: %w", name, eventlog.ErrInvalid)
		}
	}
	return nil
}

// Create stores a new token and returns its secret, which is not kept
// and cannot be shown again.
func (t *Tokens) Create(ctx context.Context, name string, scope Scope) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	if _, err := ParseScope(string(scope)); err != nil {
		return "", err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("auth: reading random bytes: %w", err)
	}
	secret := TokenPrefix + hex.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(secret))
	var exists int
	err := t.db.QueryRowContext(ctx, t.sql("SELECT COUNT(*) FROM eventlog_tokens WHERE name = ?"), name).Scan(&exists)
	if err != nil {
		return "", fmt.Errorf("auth: checking token name: %w", err)
	}
	if exists > 0 {
		return "", fmt.Errorf("token %q: %w", name, ErrNameTaken)
	}
	_, err = t.db.ExecContext(ctx, t.sql("INSERT INTO eventlog_tokens (name, scope, hash, created_at) VALUES (?, ?, ?, ?)"),
		name, string(scope), hex.EncodeToString(sum[:]), t.now().UnixMicro())
	if err != nil {
		return "", fmt.Errorf("auth: storing token %q: %w", name, err)
	}
	t.invalidate()
	return secret, nil
}

// List returns every token, oldest first.
func (t *Tokens) List(ctx context.Context) ([]Token, error) {
	all, err := t.load(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(all))
	for i, c := range all {
		out[i] = c.Token
	}
	return out, nil
}

// Revoke deletes the token called name; an unknown name is an error
// wrapping eventlog.ErrNotFound.
func (t *Tokens) Revoke(ctx context.Context, name string) error {
	res, err := t.db.ExecContext(ctx, t.sql("DELETE FROM eventlog_tokens WHERE name = ?"), name)
	if err != nil {
		return fmt.Errorf("auth: revoking token %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("auth: revoking token %q: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("token %q: %w", name, eventlog.ErrNotFound)
	}
	t.invalidate()
	return nil
}

// Empty reports whether no token exists at all.
func (t *Tokens) Empty(ctx context.Context) (bool, error) {
	all, err := t.cached(ctx)
	if err != nil {
		return false, err
	}
	return len(all) == 0, nil
}

// Authenticate returns the token whose secret is secret, or an error
// wrapping ErrUnauthenticated. Every stored hash is compared in constant
// time, so timing tells nothing about which bytes matched.
func (t *Tokens) Authenticate(ctx context.Context, secret string) (Token, error) {
	if secret == "" {
		return Token{}, ErrUnauthenticated
	}
	all, err := t.cached(ctx)
	if err != nil {
		return Token{}, err
	}
	sum := sha256.Sum256([]byte(secret))
	found := -1
	for i := range all {
		if subtle.ConstantTimeCompare(sum[:], all[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Token{}, ErrUnauthenticated
	}
	return all[found].Token, nil
}

func (t *Tokens) invalidate() {
	t.mu.Lock()
	t.loadedAt = time.Time{}
	t.mu.Unlock()
}

// cached returns the token table, read again when older than the TTL.
func (t *Tokens) cached(ctx context.Context) ([]cachedToken, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.loadedAt.IsZero() && t.now().Sub(t.loadedAt) < t.ttl {
		return t.cache, nil
	}
	all, err := t.load(ctx)
	if err != nil {
		return nil, err
	}
	t.cache, t.loadedAt = all, t.now()
	return all, nil
}

func (t *Tokens) load(ctx context.Context) ([]cachedToken, error) {
	rows, err := t.db.QueryContext(ctx, "SELECT name, scope, hash, created_at FROM eventlog_tokens ORDER BY created_at, name")
	if err != nil {
		return nil, fmt.Errorf("auth: reading tokens: %w", err)
	}
	defer rows.Close()
	var out []cachedToken
	for rows.Next() {
		var (
			c       cachedToken
			scope   string
			hashHex string
			created any
		)
		if err := rows.Scan(&c.Name, &scope, &hashHex, &created); err != nil {
			return nil, fmt.Errorf("auth: reading tokens: %w", err)
		}
		c.Scope = Scope(scope)
		h, err := hex.DecodeString(hashHex)
		if err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("auth: token %q has a malformed hash in eventlog_tokens", c.Name)
		}
		copy(c.hash[:], h)
		c.CreatedAt = parseTime(created)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("auth: reading tokens: %w", err)
	}
	return out, nil
}

// parseTime reads created_at whichever way the driver returns it: a
// time, Unix seconds or microseconds, or text.
func parseTime(v any) time.Time {
	switch x := v.(type) {
	case time.Time:
		return x.UTC()
	case int64:
		if x > 1e14 { // microseconds
			return time.UnixMicro(x).UTC()
		}
		return time.Unix(x, 0).UTC()
	case []byte:
		return parseTime(string(x))
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999 -0700 MST", "2006-01-02 15:04:05.999999", "2006-01-02 15:04:05"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t.UTC()
			}
		}
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return parseTime(n)
		}
	}
	return time.Time{}
}

// sql rewrites ? placeholders as $1, $2, … for PostgreSQL.
func (t *Tokens) sql(q string) string {
	if t.dialect != "postgres" {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
