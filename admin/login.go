package admin

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
)

type loginPage struct {
	Next  string
	Name  string
	CSRF  string
	Error string
}

func (p *loginPage) title() (string, string) { return "Log in", "login" }

// safeNext keeps a post-login redirect inside the admin.
func (h *Handler) safeNext(next string) string {
	if !strings.HasPrefix(next, h.base) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return h.base
	}
	return next
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if h.auth != nil {
		http.NotFound(w, r)
		return
	}
	h.showLogin(w, r, http.StatusOK, &loginPage{Next: h.safeNext(r.URL.Query().Get("next"))})
}

// showLogin renders the form with a fresh pre-session nonce, whose
// derived token the form must send back (login CSRF protection).
func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, status int, p *loginPage) {
	nonce := randomToken(12)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: nonce, Path: h.base, MaxAge: 3600, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	p.CSRF = h.sessions.csrfToken("login", nonce)
	h.render(w, r, status, "login", p)
}

func (h *Handler) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if h.auth != nil {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	name := strings.TrimSpace(r.PostFormValue("name"))
	password := r.PostFormValue("password")
	p := &loginPage{Next: h.safeNext(r.PostFormValue("next")), Name: name}
	c, _ := r.Cookie(loginCookie)
	if c == nil || !h.sessions.csrfOK("login", c.Value, r.PostFormValue("csrf")) {
		p.Error = "The form expired. Please try again."
		h.showLogin(w, r, http.StatusForbidden, p)
		return
	}
	ipKey, userKey := "ip:"+clientIP(r), "user:"+name
	if blocked, wait := h.throttle.blocked(ipKey, userKey); blocked {
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		p.Error = fmt.Sprintf("Too many failed logins. Try again in %d minutes.", int(math.Ceil(wait.Minutes())))
		h.showLogin(w, r, http.StatusTooManyRequests, p)
		return
	}
	err := h.accounts.Authenticate(r.Context(), name, password)
	if errors.Is(err, ErrBadPassword) || errors.Is(err, ErrUnknownUser) {
		h.throttle.fail(ipKey, userKey)
		p.Error = "Wrong name or password."
		h.showLogin(w, r, http.StatusUnauthorized, p)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.throttle.reset(userKey)
	v, err := h.sessions.issue(r.Context(), name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.SetCookie(w, sessionCookieFor(r, h.base, v, int(h.sessions.ttl.Seconds())))
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: h.base, MaxAge: -1})
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, sessionCookieFor(r, h.base, "", -1))
	http.Redirect(w, r, h.base+"login", http.StatusSeeOther)
}
