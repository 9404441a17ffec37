package admin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/eventlog/eventlog"
)

// chromium finds Debian's chromium, skipping the test when it is missing
// (failing it under CI=true).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("EVENTLOG_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "chromium is not installed; to run the browser test: apt-get install -y chromium (or set EVENTLOG_CHROMIUM)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browserFixture is a month of varied events, enough for two pages of
// CREATED_WIDGET and a chart with several stacked actions.
func browserFixture() []eventlog.Event {
	actions := []string{"CREATED_WIDGET", "CREATED_WIDGET", "LOGGED_IN", "CREATED_WIDGET", "PAID", "SIGNED_UP", "LOGGED_IN", "DELETED_WIDGET"}
	users := []string{"alice", "bob", "carol", "dave", "erin"}
	var out []eventlog.Event
	for i := 1; i <= 400; i++ {
		a := actions[i%len(actions)]
		u := users[(i*7)%len(users)]
		extra := fmt.Sprintf(`{"plan":%q,"size":%d}`, []string{"free", "pro", "team"}[i%3], i%17)
		otype, oid := "", ""
		if strings.HasSuffix(a, "WIDGET") {
			otype, oid = "widget", fmt.Sprint(i%40)
		}
		if a == "PAID" {
			otype, oid = "order", fmt.Sprint(1000+i)
			extra = fmt.Sprintf(`{"amount":%d.50,"currency":"EUR"}`, 10+i%90)
		}
		// Spread over 30 days, more recently more.
		ago := time.Duration(float64(i*i) / (400 * 400) * float64(30*24*time.Hour))
		out = append(out, ev(i, a, ago+time.Duration(i)*time.Minute, u, otype, oid, extra))
	}
	h := ev(999, "IMPORTED", 5*time.Minute, "mallory", "note", `"><img src=x onerror="window.pwned=1">`,
		`{"title":"<img src=x onerror=\"window.pwned=2\">","quote":"it's \"quoted\"","text":"日本語 ✓ 🎉"}`)
	h.User.Name = `<script>window.pwned=3</script>`
	return append(out, h)
}

func TestBrowser(t *testing.T) {
	t.Parallel()
	chrome := chromium(t)
	// A search budget of 100 events makes a search of the 401 events
	// take several windows.
	b := setup(t, setupOpts{events: browserFixture(), cfg: func(c *Config) { c.SearchBudget = 100 }})

	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1280, 780))
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	// Every uncaught exception and console error (a refused inline
	// script or style shows up as one) fails the test.
	var mu sync.Mutex
	var problems []string
	if err := chromedp.Do(ctx, call(cdplog.Enable, cdp.Empty{}), call(runtime.Enable, cdp.Empty{})); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text+" "+describe(ev.ExceptionDetails.Exception))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				problems = append(problems, "console: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	})
	shots := os.Getenv("EVENTLOG_SCREENSHOTS")
	shot := func(name string) {
		if shots == "" {
			return
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("evaluating %s: %v", js, err)
		}
		return v
	}
	// wait polls js until it is true; a page navigating meanwhile only
	// delays it.
	wait := func(what, js string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
			if err == nil && v {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s (%s): %v", what, js, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Log in: any page sends an anonymous visitor to the login form.
	do("opening the login page", chromedp.Navigate(b.base+"events"), chromedp.WaitVisible(chromedp.CSS("#name")))
	shot("login")
	do("logging in",
		chromedp.SendKeys(chromedp.CSS("#name"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), alicePassword),
		chromedp.Click(chromedp.CSS(".login button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("table.events")))
	if !eval(`document.querySelectorAll("table.events tbody tr").length === 50`) {
		t.Error("the events page does not show 50 rows")
	}
	shot("events")

	// Filter by an action from the sidebar: the URL and the chips follow.
	do("filtering", chromedp.Click(chromedp.CSS(`.facets a[href*="action=CREATED_WIDGET"]`)))
	wait("the filtered page", `location.search.includes("action=CREATED_WIDGET") && document.querySelector(".chips") !== null`)
	if !eval(`[...document.querySelectorAll("table.events a.action")].every(a => a.textContent === "CREATED_WIDGET")`) {
		t.Error("the filtered page shows other actions")
	}
	first := func() string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("table.events td.ts a").getAttribute("href")`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	page1 := first()
	shot("events-filtered")

	// Paginate: older, then newer back to the first page.
	do("paging older", chromedp.Click(chromedp.CSS(`a[rel=next]`)))
	wait("page 2", `location.search.includes("after=")`)
	if p2 := first(); p2 == page1 {
		t.Error("the older page starts with the same event")
	}
	if !eval(`[...document.querySelectorAll("table.events a.action")].every(a => a.textContent === "CREATED_WIDGET")`) {
		t.Error("page 2 lost the filter")
	}
	do("paging newer", chromedp.Click(chromedp.CSS(`a[rel=prev]`)))
	wait("page 1 again", `!location.search.includes("after=")`)
	if p := first(); p != page1 {
		t.Errorf("newer led to %s, want the first page starting at %s", p, page1)
	}

	// Open an event.
	do("opening an event", chromedp.Click(chromedp.CSS(`table.events td.ts a`)))
	wait("the detail page", `document.querySelector("pre.json") !== null`)
	if !eval(`document.querySelector("h1").textContent.includes("CREATED_WIDGET")`) {
		t.Error("the detail page does not show the action")
	}
	shot("event")

	// The hostile event renders as text.
	do("opening the hostile event", chromedp.Navigate(b.base+"events/"+idOf(999)), chromedp.WaitVisible(chromedp.CSS("pre.json")))
	do("timeline", chromedp.Navigate(b.base+"user?id=alice"), chromedp.WaitVisible(chromedp.CSS(".tl")))
	shot("timeline")
	do("events page with the hostile event", chromedp.Navigate(b.base+"events?q=mallory"), chromedp.WaitVisible(chromedp.CSS("table.events")))
	if !eval(`window.pwned === undefined`) {
		t.Error("a hostile event ran script")
	}

	// Search: each page searches a window of about 100 events and says
	// where it stopped; following Older to the end finds every match
	// (the 50 PAID events, in EUR) exactly once.
	do("searching", chromedp.Navigate(b.base+"events"), chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), "eur"), chromedp.Click(chromedp.CSS("#filters button[type=submit]")))
	wait("the search notice", `location.search.includes("q=eur") && document.getElementById("searched-from") !== null`)
	seen := map[string]bool{}
	for pages := 1; ; pages++ {
		ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("table.events td.ts a")].map(a => a.getAttribute("href"))`))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("search page %d shows %s again", pages, id)
			}
			seen[id] = true
		}
		if !eval(`[...document.querySelectorAll("table.events a.action")].every(a => a.textContent === "PAID")`) {
			t.Errorf("search page %d shows an event without eur", pages)
		}
		if !eval(`document.querySelector("a[rel=next]") !== null`) {
			if eval(`document.getElementById("searched-from") !== null`) {
				t.Error("the last search page still says older events were not searched")
			}
			break
		}
		if pages > 20 {
			t.Fatal("search pages do not end")
		}
		before, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.search`))
		if err != nil {
			t.Fatal(err)
		}
		do("searching older", chromedp.Click(chromedp.CSS(`a[rel=next]`)))
		wait("the older search page", `location.search !== `+strconv.Quote(before))
	}
	if len(seen) != 50 {
		t.Errorf("following the search to its end found %d events, want the 50 PAID ones", len(seen))
	}

	// Dashboard: both charts draw a canvas.
	do("dashboard", chromedp.Navigate(b.base+"dashboard"), chromedp.WaitVisible(chromedp.CSS("#charts")))
	wait("the charts", `document.querySelector("#chart-events canvas") !== null && document.querySelector("#chart-active canvas") !== null`)
	time.Sleep(200 * time.Millisecond) // let uPlot paint before the screenshot
	shot("dashboard")
	// Drill down: clicking the last day of the chart lists that day's events.
	pt, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
		const r = document.querySelector("#chart-events .u-over").getBoundingClientRect();
		return [r.right - 2, r.top + r.height / 2];
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	do("clicking a day", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pt[0]-5, pt[1]), chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pt[0], pt[1]), chromedp.MouseClickXY(pt[0], pt[1]))
	today := time.Now().UTC().Format(time.DateOnly)
	wait("the day's events", `location.search === "?range=custom&since=`+today+`&until=`+today+`" && document.querySelector("table.events") !== null`)

	// Live tail: a new event appears; paused, it waits.
	do("live tail", chromedp.Navigate(b.base+"live"), chromedp.WaitVisible(chromedp.CSS("#live")))
	wait("the stream", `document.getElementById("live-status").textContent === "live"`)
	logNow := func(id int, action string) {
		e := ev(id, action, 0, "alice", "widget", "7", `{"source":"browser test"}`)
		if _, err := b.logger.LogEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	logNow(2001, "BROWSER_LIVE_EVENT")
	wait("the live event", `[...document.querySelectorAll("#live-rows a")].some(a => a.textContent === "BROWSER_LIVE_EVENT")`)
	do("pausing", chromedp.Click(chromedp.CSS("#live-pause")))
	logNow(2002, "WHILE_PAUSED")
	wait("the held count", `document.getElementById("live-status").textContent === "paused · 1 new"`)
	if eval(`[...document.querySelectorAll("#live-rows a")].some(a => a.textContent === "WHILE_PAUSED")`) {
		t.Error("a paused tail shows a new event")
	}
	do("resuming", chromedp.Click(chromedp.CSS("#live-pause")))
	wait("the held event", `[...document.querySelectorAll("#live-rows a")].some(a => a.textContent === "WHILE_PAUSED")`)
	for i, a := range []string{"SIGNED_UP", "PAID", "LOGGED_IN"} {
		logNow(2003+i, a)
	}
	wait("more live events", `document.querySelectorAll("#live-rows tr").length >= 5`)
	time.Sleep(1300 * time.Millisecond) // the highlight fades
	shot("live")

	if shots != "" {
		// Dark theme and a phone-sized screen.
		do("dark theme", call(emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}))
		do("dark dashboard", chromedp.Navigate(b.base+"dashboard"), chromedp.WaitVisible(chromedp.CSS("#charts")))
		wait("the charts", `document.querySelector("#chart-events canvas") !== null`)
		time.Sleep(200 * time.Millisecond)
		shot("dashboard-dark")
		do("dark events", chromedp.Navigate(b.base+"events"), chromedp.WaitVisible(chromedp.CSS("table.events")))
		shot("events-dark")
		do("phone", chromedp.EmulateViewport(390, 700, chromedp.EmulateScale(2)), chromedp.Navigate(b.base+"events"), chromedp.WaitVisible(chromedp.CSS("table.events")))
		shot("events-phone")
	}

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser reported %s", p)
	}
}

// call runs one DevTools command as an action.
func call[P, R any](c cdp.Command[P, R], params P) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, c, params)
		return chromedp.Void{}, err
	}
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	return o.Description
}
