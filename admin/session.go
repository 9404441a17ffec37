package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Cookie names.
const (
	sessionCookie = "eventlog_session"
	loginCookie   = "eventlog_login" // pre-session nonce for the login form's CSRF token
)

// session is a signed cookie naming an admin user. The signature covers
// the user's current password hash, so changing the password or deleting
// the user ends every session at once without a sessions table.
type session struct {
	User    string
	Expires time.Time
	Nonce   string
}

// sessions signs and checks session cookies.
type sessions struct {
	key      []byte
	accounts *Accounts
	ttl      time.Duration
	now      func() time.Time
}

func (s *sessions) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// issue returns the cookie value for a new session of user.
func (s *sessions) issue(ctx context.Context, user string) (string, error) {
	hash, err := s.accounts.hashOf(ctx, user)
	if err != nil {
		return "", err
	}
	exp := strconv.FormatInt(s.now().Add(s.ttl).Unix(), 10)
	nonce := randomToken(12)
	payload := base64.RawURLEncoding.EncodeToString([]byte(user)) + "." + exp + "." + nonce
	sig := base64.RawURLEncoding.EncodeToString(s.mac("session", payload, hash))
	return payload + "." + sig, nil
}

// check returns the session a cookie value carries, or false when it is
// malformed, expired, forged, or its user's password changed.
func (s *sessions) check(ctx context.Context, v string) (session, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 4 {
		return session{}, false
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return session{}, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || s.now().Unix() >= exp {
		return session{}, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		return session{}, false
	}
	hash, err := s.accounts.hashOf(ctx, string(name))
	if err != nil {
		return session{}, false
	}
	if !hmac.Equal(sig, s.mac("session", strings.Join(parts[:3], "."), hash)) {
		return session{}, false
	}
	return session{User: string(name), Expires: time.Unix(exp, 0), Nonce: parts[2]}, true
}

// csrfToken derives the CSRF token of a session (or of a login form's
// nonce): forms carry it, and a POST without the right one is refused.
func (s *sessions) csrfToken(purpose, nonce string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf", purpose, nonce))
}

func (s *sessions) csrfOK(purpose, nonce, token string) bool {
	if nonce == "" || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(s.csrfToken(purpose, nonce)), []byte(token)) == 1
}

// throttle limits failed logins per client address and per user name: after
// max failures within window, further attempts are refused until the
// window that began with the first failure has passed. Successful logins
// clear the user's count. State is in memory, per process.
type throttle struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	fails  map[string]*failCount
}

type failCount struct {
	n     int
	start time.Time
}

func newThrottle(max int, window time.Duration, now func() time.Time) *throttle {
	return &throttle{max: max, window: window, now: now, fails: map[string]*failCount{}}
}

// blocked reports whether any of keys is over its limit, and for how long.
func (t *throttle) blocked(keys ...string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range keys {
		f := t.fails[k]
		if f == nil {
			continue
		}
		if end := f.start.Add(t.window); !now.Before(end) {
			delete(t.fails, k)
		} else if f.n >= t.max && end.Sub(now) > wait {
			wait = end.Sub(now)
		}
	}
	return wait > 0, wait
}

// fail records a failed attempt for each key.
func (t *throttle) fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.fails) > 100000 { // bound memory under a spray of addresses
		for k, f := range t.fails {
			if !now.Before(f.start.Add(t.window)) {
				delete(t.fails, k)
			}
		}
	}
	for _, k := range keys {
		f := t.fails[k]
		if f == nil || !now.Before(f.start.Add(t.window)) {
			f = &failCount{start: now}
			t.fails[k] = f
		}
		f.n++
	}
}

func (t *throttle) reset(key string) {
	t.mu.Lock()
	delete(t.fails, key)
	t.mu.Unlock()
}

// sessionCookieFor builds the session cookie; secure under TLS.
func sessionCookieFor(r *http.Request, path, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     sessionCookie,
		Value:    value,
		Path:     path,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	}
}
