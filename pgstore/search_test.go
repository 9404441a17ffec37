package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/pgstore"
)

// TestTextSearchWalkThenIndex crosses the point where a text search in a
// small time range stops walking rows and reads the trigram index: with
// a walk of 7 rows, common, rare and absent texts, alone or with other
// filters, paged by cursor, find exactly what the model finds.
func TestTextSearchWalkThenIndex(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	pgstore.SetTextWalkRows(s, 7)
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var events []eventlog.Event
	for i := range 120 {
		e := eventlog.Event{
			Action:    []string{"VIEWED", "PAID", "SIGNED_UP"}[i%3],
			Timestamp: base.Add(-time.Duration(i) * 37 * time.Minute),
			User:      &eventlog.User{ID: fmt.Sprintf("user-%d", i%11), Name: "Name " + fmt.Sprint(i%5)},
			Extra:     []byte(fmt.Sprintf(`{"note":"n%d","word":%q}`, i, []string{"alpha", "beta", "rare-needle"}[min(i%40, 2)])),
		}
		if err := e.Normalize(e.Timestamp); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if _, _, err := s.Insert(ctx, events); err != nil {
		t.Fatal(err)
	}
	since := base.Add(-60 * time.Hour)
	for _, q := range []eventlog.Query{
		{Text: "user-1", Since: since},      // common: the walk fills pages
		{Text: "rare-needle", Since: since}, // rare: the index finds them
		{Text: "nowhere", Since: since},     // absent
		{Text: "n7", Since: since},          // n7, n70-n79: a few, spread
		{Text: "alpha", Since: since, Actions: []string{"PAID"}},
		{Text: "name 3", Since: since, Until: base.Add(-10 * time.Hour)},
		{Text: "beta", Since: since, Where: []eventlog.Where{{Key: "word", Value: "beta"}}},
	} {
		var want []string
		for _, e := range events {
			if q.Matches(&e) {
				want = append(want, e.ID)
			}
		}
		for _, limit := range []int{3, 50} {
			q := q
			q.Limit = limit
			var got []string
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatalf("%+v: pages do not end", q)
				}
				p, err := s.Query(ctx, q)
				if err != nil {
					t.Fatalf("%+v: %v", q, err)
				}
				for _, e := range p.Events {
					got = append(got, e.ID)
				}
				if p.Next == nil {
					break
				}
				q.After = p.Next
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("q=%q since %v actions %v until %v, limit %d (-want +got):\n%s", q.Text, q.Since, q.Actions, q.Until, limit, d)
			}
		}
	}
}
