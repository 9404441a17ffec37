package cli

import (
	"strings"
	"testing"
)

// TestServeRedactKeys checks serve stores the values of the configured
// keys as "[redacted]", the defaults when none are given, and nothing
// redacted when the list is empty.
func TestServeRedactKeys(t *testing.T) {
	t.Parallel()
	const body = `{"action":"SIGNED_IN","extra":{"form":{"PIN":"1234","password":"hunter2"},"keep":[{"pin":0}]}}`
	for _, c := range []struct {
		name string
		keys []string
		want string
	}{
		{"default", nil, `{"form":{"PIN":"1234","password":"[redacted]"},"keep":[{"pin":0}]}`},
		{"custom", []string{"pin"}, `{"form":{"PIN":"[redacted]","password":"hunter2"},"keep":[{"pin":"[redacted]"}]}`},
		{"off", []string{}, `{"form":{"PIN":"1234","password":"hunter2"},"keep":[{"pin":0}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setupStore(t)
			url, _, stop := startServe(t, b, serveOptions{redactKeys: c.keys})
			if status, resp := httpDo(t, "POST", url+"/api/v1/events", "", body); status != 201 {
				t.Fatalf("POST: %d %s", status, resp)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			out := b.mustRun(t, "events", "--format", "jsonl")
			if !strings.Contains(out, `"extra":`+c.want) {
				t.Fatalf("stored event %s, want extra %s", out, c.want)
			}
		})
	}
}
