package admin

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The templates and the vendored assets (htmx, uPlot, the stylesheet and
// the admin's own script) are compiled into the binary, so the admin
// works with no internet and no build step.
//
//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

func assetHandler() http.Handler {
	sub, _ := fs.Sub(assetFS, "assets")
	files := http.FileServerFS(sub)
	return http.StripPrefix("/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The assets change only with the binary.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
}

// pageTemplates holds each page parsed together with the layout.
type pageTemplates map[string]*template.Template

var funcs = template.FuncMap{
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"timeFull": func(t time.Time) string {
		return t.UTC().Format("2006-01-02 15:04:05.000000 UTC")
	},
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"query": func(s string) string { return url.QueryEscape(s) },
}

func parsePages() (pageTemplates, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := pageTemplates{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html", n)
		if err != nil {
			return nil, fmt.Errorf("parsing template %s: %w", n, err)
		}
		out[base] = t
	}
	return out, nil
}

// view is what every page template receives: the layout's data and the
// page's own as .Page.
type view struct {
	Base  string
	Title string
	Nav   string
	User  string
	CSRF  string
	Page  any
}

type titled interface{ title() (title, nav string) }

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, page titled) {
	t := h.pages[name]
	v := view{Base: h.base, Page: page}
	v.Title, v.Nav = page.title()
	if s, ok := sessionOf(r); ok {
		v.User = s.User
		v.CSRF = h.sessions.csrfToken("session", s.Nonce)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		h.log.Error("admin: rendering page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// hostTemplates renders events with the host application's templates.
type hostTemplates struct {
	fsys  fs.FS
	mu    sync.Mutex
	cache map[string]*hostTemplate
}

type hostTemplate struct {
	t *template.Template // nil when the host has no template of that name
}

// lookup returns the parsed template name, or nil when there is none.
func (ht *hostTemplates) lookup(name string) (*template.Template, error) {
	ht.mu.Lock()
	defer ht.mu.Unlock()
	if c, ok := ht.cache[name]; ok {
		return c.t, nil
	}
	var t *template.Template
	if _, err := fs.Stat(ht.fsys, name); err == nil {
		t, err = template.New(name[strings.LastIndex(name, "/")+1:]).ParseFS(ht.fsys, name)
		if err != nil {
			return nil, fmt.Errorf("parsing host template %s: %w", name, err)
		}
	}
	ht.cache[name] = &hostTemplate{t: t}
	return t, nil
}
