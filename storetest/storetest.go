package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/eventlog/eventlog"
)

// Exercise runs the conformance suite against the store built by
// newStore. newStore is called once per subtest with that subtest's t and
// must return a fresh, empty store that it closes in t.Cleanup. Subtests
// run in parallel.
func Exercise(t *testing.T, newStore func(t *testing.T) eventlog.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s eventlog.Store)
	}{
		{"InsertGetRoundTrip", testRoundTrip},
		{"InsertEmptyBatch", testInsertEmpty},
		{"GetUnknown", testGetUnknown},
		{"InsertAtomic", testInsertAtomic},
		{"InsertDuplicates", testInsertDuplicates},
		{"InsertDuplicatesConcurrent", testInsertDuplicatesConcurrent},
		{"QueryFilters", testQueryFilters},
		{"QueryOrderTies", testQueryOrderTies},
		{"QueryLimit", testQueryLimit},
		{"PaginationWhileInserting", testPaginationWhileInserting},
		{"Actions", testActions},
		{"Stats", testStats},
		{"Series", testSeries},
		{"ActiveUsers", testActiveUsers},
		{"ActiveUsersAcrossBatches", testActiveUsersAcrossBatches},
		{"ReadAfter", testReadAfter},
		{"ForgetUser", testForgetUser},
		{"Prune", testPrune},
		{"PruneBackdatedDuring", testPruneBackdatedDuring},
		{"Chain", testChain},
		{"ChainBackfill", testChainBackfill},
		{"ChainTailDeleted", testChainTailDeleted},
		{"ConcurrentInserts", testConcurrentInserts},
		{"LoggerRejectsBadInput", testLoggerRejects},
		{"LoggerGroupCommit", testLoggerGroupCommit},
		{"Ping", testPing},
		{"OutboxSQLTx", testOutboxSQLTx},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// eventCmp compares events field by field: timestamps with time.Equal,
// extra as text so a difference prints readably.
var eventCmp = cmp.Options{
	cmp.Transformer("extraText", func(r json.RawMessage) string { return string(r) }),
}

func diffEvents(want, got any) string { return cmp.Diff(want, got, eventCmp) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// normalized returns copies of events normalized as the Logger would.
func normalized(t testing.TB, events []eventlog.Event) []eventlog.Event {
	t.Helper()
	out := make([]eventlog.Event, len(events))
	for i, e := range events {
		if e.User != nil {
			u := *e.User
			e.User = &u
		}
		if e.Object != nil {
			o := *e.Object
			e.Object = &o
		}
		if e.Context != nil {
			c := *e.Context
			e.Context = &c
		}
		e.Extra = append(json.RawMessage(nil), e.Extra...)
		if err := e.Normalize(base); err != nil {
			t.Fatalf("fixture event %d does not normalize: %v", i, err)
		}
		out[i] = e
	}
	return out
}

func mustInsert(t testing.TB, ctx context.Context, s eventlog.Store, events []eventlog.Event) []eventlog.Event {
	t.Helper()
	stored, inserted, err := s.Insert(ctx, events)
	if err != nil {
		t.Fatalf("Insert(%d events): %v", len(events), err)
	}
	if len(stored) != len(events) || len(inserted) != len(events) {
		t.Fatalf("Insert(%d events) returned %d events and %d flags", len(events), len(stored), len(inserted))
	}
	return stored
}

func mustQuery(t testing.TB, ctx context.Context, s eventlog.Store, q eventlog.Query) eventlog.Page {
	t.Helper()
	if err := q.Normalize(); err != nil {
		t.Fatalf("query %+v does not normalize: %v", q, err)
	}
	p, err := s.Query(ctx, q)
	if err != nil {
		t.Fatalf("Query(%+v): %v", q, err)
	}
	return p
}

// queryAll walks every page of q and checks the page invariants: at most
// Limit events, Next set exactly when more follow, Next the cursor of the
// last event.
func queryAll(t testing.TB, ctx context.Context, s eventlog.Store, q eventlog.Query) []eventlog.Event {
	t.Helper()
	var all []eventlog.Event
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("query %+v: more than 10000 pages; the cursor does not advance", q)
		}
		p := mustQuery(t, ctx, s, q)
		if q.Limit > 0 && len(p.Events) > q.Limit {
			t.Fatalf("query %+v: page of %d events exceeds limit %d", q, len(p.Events), q.Limit)
		}
		all = append(all, p.Events...)
		if p.Next == nil {
			return all
		}
		if len(p.Events) == 0 {
			t.Fatalf("query %+v: empty page with a Next cursor", q)
		}
		if d := cmp.Diff(eventlog.CursorAfter(p.Events[len(p.Events)-1]), p.Next); d != "" {
			t.Fatalf("query %+v: Next is not the cursor of the last event (-want +got):\n%s", q, d)
		}
		q.After = p.Next
	}
}

func count(t testing.TB, ctx context.Context, s eventlog.Store) int {
	t.Helper()
	events, err := s.ReadAfter(ctx, "", 1_000_000)
	if err != nil {
		t.Fatalf("ReadAfter: %v", err)
	}
	return len(events)
}

func testRoundTrip(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	events := normalized(t, roundTripEvents())
	stored, inserted, err := s.Insert(ctx, events)
	if err != nil {
		t.Fatalf("Insert: %v", err)
	}
	if d := diffEvents(events, stored); d != "" {
		t.Errorf("Insert returned events that differ from the input (-want +got):\n%s", d)
	}
	for i, ok := range inserted {
		if !ok {
			t.Errorf("inserted[%d] (%s) = false for a new event", i, events[i].Action)
		}
	}
	for _, want := range events {
		got, err := s.Get(ctx, want.ID)
		if err != nil {
			t.Fatalf("Get(%s) %s: %v", want.ID, want.Action, err)
		}
		if d := diffEvents(want, got); d != "" {
			t.Errorf("Get(%s) %s differs (-want +got):\n%s", want.ID, want.Action, d)
		}
		if got.Timestamp.Location() != time.UTC {
			t.Errorf("Get(%s): timestamp location %v, want UTC", want.ID, got.Timestamp.Location())
		}
	}
	all := queryAll(t, ctx, s, eventlog.Query{Limit: 1000})
	if d := diffEvents(modelQuery(events, eventlog.Query{}), all); d != "" {
		t.Errorf("Query returned events that differ from the stored ones (-want +got):\n%s", d)
	}
}

func testInsertEmpty(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	stored, inserted, err := s.Insert(ctx, nil)
	if err != nil {
		t.Fatalf("Insert(nil): %v", err)
	}
	if len(stored) != 0 || len(inserted) != 0 {
		t.Fatalf("Insert(nil) = %d events, %d flags; want none", len(stored), len(inserted))
	}
	if n := count(t, ctx, s); n != 0 {
		t.Fatalf("store holds %d events after an empty insert", n)
	}
}

func testGetUnknown(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	mustInsert(t, ctx, s, normalized(t, queryFixture(3)))
	_, err := s.Get(ctx, uuid.NewString())
	if !errors.Is(err, eventlog.ErrNotFound) {
		t.Fatalf("Get(unknown id) error = %v, want one wrapping ErrNotFound", err)
	}
}

func testInsertAtomic(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	events := normalized(t, queryFixture(50))
	if _, _, err := s.Insert(cancelled, events); err == nil {
		t.Fatal("Insert with a cancelled context succeeded; want an error")
	}
	if n := count(t, ctx, s); n != 0 {
		t.Fatalf("a failed Insert stored %d events; want none", n)
	}
	// A deadline that may expire in the middle of a large batch: whatever
	// happens, it is all or nothing, rollups included.
	big := normalized(t, queryFixture(3000))
	short, cancel2 := context.WithTimeout(ctx, 2*time.Millisecond)
	defer cancel2()
	_, _, err := s.Insert(short, big)
	n := count(t, ctx, s)
	switch {
	case err != nil && n != 0:
		t.Fatalf("Insert failed (%v) but stored %d of %d events", err, n, len(big))
	case err == nil && n != len(big):
		t.Fatalf("Insert succeeded but stored %d of %d events", n, len(big))
	}
	acts, aerr := s.Actions(ctx)
	if aerr != nil {
		t.Fatalf("Actions: %v", aerr)
	}
	var stored []eventlog.Event
	if err == nil {
		stored = big
	}
	if d := cmp.Diff(modelActions(stored), acts, cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("action rollup disagrees with the events after an all-or-nothing insert (-want +got):\n%s", d)
	}
}

func testInsertDuplicates(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	ev := normalized(t, queryFixture(4))
	a, b, c := ev[0], ev[1], ev[2]
	aAgain := a
	aAgain.Action = "SHOULD_NOT_WIN"
	aAgain.Extra = json.RawMessage(`{"loser":true}`)

	stored, inserted, err := s.Insert(ctx, []eventlog.Event{a, b, aAgain})
	if err != nil {
		t.Fatalf("Insert: %v", err)
	}
	if d := diffEvents([]eventlog.Event{a, b, a}, stored); d != "" {
		t.Errorf("a repeat within a batch: the first must win (-want +got):\n%s", d)
	}
	if want := []bool{true, true, false}; !slices.Equal(inserted, want) {
		t.Errorf("inserted = %v, want %v", inserted, want)
	}

	bAgain := b
	bAgain.Action = "SHOULD_NOT_WIN"
	stored, inserted, err = s.Insert(ctx, []eventlog.Event{c, bAgain, aAgain})
	if err != nil {
		t.Fatalf("Insert: %v", err)
	}
	if d := diffEvents([]eventlog.Event{c, b, a}, stored); d != "" {
		t.Errorf("repeats of stored events: the stored event must win (-want +got):\n%s", d)
	}
	if want := []bool{true, false, false}; !slices.Equal(inserted, want) {
		t.Errorf("inserted = %v, want %v", inserted, want)
	}
	if n := count(t, ctx, s); n != 3 {
		t.Errorf("store holds %d events, want 3", n)
	}
	acts, err := s.Actions(ctx)
	if err != nil {
		t.Fatalf("Actions: %v", err)
	}
	if d := cmp.Diff(modelActions([]eventlog.Event{a, b, c}), acts); d != "" {
		t.Errorf("duplicates were counted in the action rollup (-want +got):\n%s", d)
	}
	st, err := s.Stats(ctx, base)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if d := cmp.Diff(modelStats([]eventlog.Event{a, b, c}, base), st); d != "" {
		t.Errorf("Stats (-want +got):\n%s", d)
	}
}

func testInsertDuplicatesConcurrent(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	events := normalized(t, queryFixture(20))
	const writers = 8
	flags := make([][]bool, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each writer sends the same events in a different order.
			batch := slices.Clone(events)
			if w%2 == 1 {
				slices.Reverse(batch)
			}
			var stored []eventlog.Event
			stored, flags[w], errs[w] = s.Insert(ctx, batch)
			if errs[w] == nil && w%2 == 1 {
				slices.Reverse(flags[w])
				slices.Reverse(stored)
			}
			if errs[w] == nil {
				if d := diffEvents(events, stored); d != "" {
					errs[w] = fmt.Errorf("stored events differ (-want +got):\n%s", d)
				}
			}
		}()
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	for i := range events {
		n := 0
		for w := range writers {
			if flags[w][i] {
				n++
			}
		}
		if n != 1 {
			t.Errorf("event %d reported inserted by %d concurrent writers, want exactly 1", i, n)
		}
	}
	if n := count(t, ctx, s); n != len(events) {
		t.Errorf("store holds %d events, want %d", n, len(events))
	}
}

// filterCases are the queries checked against the model. Since and Until
// sit exactly on event timestamps so the half-open bounds matter.
func filterCases(events []eventlog.Event) map[string]eventlog.Query {
	byTime := slices.Clone(events)
	sortNewestFirst(byTime)
	t1 := byTime[len(byTime)/4].Timestamp
	t2 := byTime[len(byTime)*3/4].Timestamp
	return map[string]eventlog.Query{
		"all":                  {},
		"action":               {Actions: []string{"LOGGED_IN"}},
		"actions many":         {Actions: []string{"LOGGED_IN", "SIGNED_UP", "A_B_TEST"}},
		"action unknown":       {Actions: []string{"NEVER_HAPPENED"}},
		"user":                 {UserID: "alice"},
		"user unicode":         {UserID: "jürgen"},
		"user percent":         {UserID: "50%"},
		"user unknown":         {UserID: "mallory"},
		"object type":          {ObjectType: "widget"},
		"object type case":     {ObjectType: "Widget"},
		"object id":            {ObjectID: "1"},
		"object type and id":   {ObjectType: "widget", ObjectID: "1"},
		"since":                {Since: t2},
		"until":                {Until: t1},
		"since until":          {Since: t2, Until: t1},
		"q action":             {Text: "widget"},
		"q upper":              {Text: "LOGGED"},
		"q mixed case":         {Text: "sIgNeD"},
		"q user id":            {Text: "alic"},
		"q user name":          {Text: "smith"},
		"q unicode":            {Text: "müller"},
		"q object id":          {Text: "10"},
		"q extra value":        {Text: "pro"},
		"q extra key":          {Text: "nested"},
		"q percent literal":    {Text: "50%"},
		"q underscore literal": {Text: "a_b"},
		"q underscore name":    {Text: "l_a"},
		"q none":               {Text: "zzzz-nothing"},
		"q none since":         {Text: "zzzz-nothing", Since: t2},
		"q since":              {Text: "pro", Since: t2},
		"q since action":       {Text: "i", Since: t2, Actions: []string{"LOGGED_IN"}},
		"q across fields":      {Text: "logged_in\x1falice"},
		"q across since":       {Text: "logged_in\x1falice", Since: t2},
		"q separator":          {Text: "\x1f"},
		"where string":         {Where: []eventlog.Where{{Key: "plan", Value: "pro"}}},
		"where string case":    {Where: []eventlog.Where{{Key: "plan", Value: "Pro"}}},
		"where number":         {Where: []eventlog.Where{{Key: "status", Value: 200.0}}},
		"where number text":    {Where: []eventlog.Where{{Key: "status", Value: "200"}}},
		"where fraction":       {Where: []eventlog.Where{{Key: "status", Value: 200.5}}},
		"where true":           {Where: []eventlog.Where{{Key: "flag", Value: true}}},
		"where false":          {Where: []eventlog.Where{{Key: "flag", Value: false}}},
		"where null":           {Where: []eventlog.Where{{Key: "k", Value: nil}}},
		"where null text":      {Where: []eventlog.Where{{Key: "k", Value: "null"}}},
		"where absent key":     {Where: []eventlog.Where{{Key: "missing", Value: nil}}},
		"where several":        {Where: []eventlog.Where{{Key: "plan", Value: "pro"}, {Key: "status", Value: 404.0}}},
		"where several none":   {Where: []eventlog.Where{{Key: "plan", Value: "pro"}, {Key: "status", Value: "404"}}},
		"action user":          {Actions: []string{"LOGGED_IN", "CREATED_WIDGET"}, UserID: "bob"},
		"user object since":    {UserID: "alice", ObjectType: "widget", Since: t2},
		"q where":              {Text: "pro", Where: []eventlog.Where{{Key: "status", Value: 200.0}}},
		"everything":           {Actions: []string{"LOGGED_IN", "SIGNED_UP", "CREATED_WIDGET"}, UserID: "alice", ObjectType: "widget", Since: t2, Until: t1, Text: "i"},
		"type q until":         {ObjectType: "order", Text: "_", Until: t1},
	}
}

func testQueryFilters(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	events := normalized(t, queryFixture(240))
	mustInsert(t, ctx, s, events)
	// These match nothing on purpose. The text cases with the separator
	// of PostgreSQL's joined search text (chr(31)) must not match across
	// two fields, which needs an event of alice with LOGGED_IN.
	empty := map[string]bool{"action unknown": true, "user unknown": true, "q none": true, "q none since": true,
		"where absent key": true, "where several none": true,
		"q across fields": true, "q across since": true, "q separator": true}
	if !slices.ContainsFunc(events, func(e eventlog.Event) bool {
		return e.Action == "LOGGED_IN" && e.User != nil && e.User.ID == "alice"
	}) {
		t.Fatal("fixture has no LOGGED_IN event of alice; the across-fields cases test nothing")
	}
	for name, q := range filterCases(events) {
		want := modelQuery(events, q)
		if len(want) == 0 && !empty[name] {
			t.Errorf("%s: fixture matches nothing; the case tests nothing", name)
		}
		for _, limit := range []int{1000, 7} {
			q := q
			q.Limit = limit
			got := queryAll(t, ctx, s, q)
			if d := diffEvents(want, got); d != "" {
				t.Errorf("%s (limit %d): (-want +got):\n%s", name, limit, d)
			}
		}
	}
}

func testQueryOrderTies(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	ts := base.Add(-time.Hour)
	var events []eventlog.Event
	for i := 0; i < 30; i++ {
		events = append(events, eventlog.Event{ID: uuid.NewString(), Timestamp: ts, Action: "SAME_TIME"})
	}
	// A microsecond apart on either side.
	events = append(events,
		eventlog.Event{ID: uuid.NewString(), Timestamp: ts.Add(time.Microsecond), Action: "AFTER"},
		eventlog.Event{ID: uuid.NewString(), Timestamp: ts.Add(-time.Microsecond), Action: "BEFORE"},
	)
	events = normalized(t, events)
	mustInsert(t, ctx, s, events)
	want := modelQuery(events, eventlog.Query{})
	for _, limit := range []int{1, 4, 1000} {
		got := queryAll(t, ctx, s, eventlog.Query{Limit: limit})
		if d := diffEvents(want, got); d != "" {
			t.Errorf("limit %d: order must be ts desc, id desc (-want +got):\n%s", limit, d)
		}
	}
	// Since and Until on the shared timestamp.
	got := queryAll(t, ctx, s, eventlog.Query{Since: ts, Until: ts.Add(time.Microsecond), Limit: 5})
	if d := diffEvents(modelQuery(events, eventlog.Query{Since: ts, Until: ts.Add(time.Microsecond)}), got); d != "" {
		t.Errorf("since/until on a shared timestamp (-want +got):\n%s", d)
	}
}

func testQueryLimit(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	events := normalized(t, queryFixture(12))
	mustInsert(t, ctx, s, events)
	want := modelQuery(events, eventlog.Query{})
	for _, limit := range []int{1, 5, 11, 12, 13, 1000} {
		p := mustQuery(t, ctx, s, eventlog.Query{Limit: limit})
		n := min(limit, len(want))
		if d := diffEvents(want[:n], p.Events); d != "" {
			t.Errorf("limit %d: first page (-want +got):\n%s", limit, d)
		}
		if more := limit < len(want); more != (p.Next != nil) {
			t.Errorf("limit %d of %d events: Next = %v, want set: %v", limit, len(want), p.Next, more)
		}
	}
	p := mustQuery(t, ctx, s, eventlog.Query{})
	if len(p.Events) != len(want) {
		t.Errorf("default limit: %d events, want %d", len(p.Events), len(want))
	}
}

func testPaginationWhileInserting(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	events := normalized(t, queryFixture(100))
	mustInsert(t, ctx, s, events)
	seen := map[string]int{}
	q := eventlog.Query{Limit: 9, Actions: []string{"LOGGED_IN", "SIGNED_UP", "CREATED_WIDGET", "DELETED_WIDGET"}}
	var newer []string
	for pages := 0; ; pages++ {
		p := mustQuery(t, ctx, s, q)
		for _, e := range p.Events {
			seen[e.ID]++
		}
		if p.Next == nil {
			break
		}
		// Events arriving between pages are newer than the cursor and
		// must not shift the walk.
		fresh := normalized(t, []eventlog.Event{
			{Action: "LOGGED_IN", Timestamp: base.Add(time.Duration(pages+1) * time.Minute)},
			{Action: "SIGNED_UP", Timestamp: p.Next.Timestamp.Add(time.Microsecond)},
		})
		mustInsert(t, ctx, s, fresh)
		for _, e := range fresh {
			newer = append(newer, e.ID)
		}
		q.After = p.Next
	}
	for _, e := range modelQuery(events, q) {
		if seen[e.ID] != 1 {
			t.Errorf("event %s %s seen %d times, want once", e.ID, e.Timestamp.Format(time.RFC3339Nano), seen[e.ID])
		}
	}
	for _, id := range newer {
		if seen[id] != 0 {
			t.Errorf("event %s inserted above the cursor was returned by a later page", id)
		}
	}
	if len(newer) == 0 {
		t.Fatal("the walk had a single page; the test inserted nothing between pages")
	}
}

func testActions(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	acts, err := s.Actions(ctx)
	if err != nil {
		t.Fatalf("Actions on an empty store: %v", err)
	}
	if len(acts) != 0 {
		t.Fatalf("Actions on an empty store = %v, want none", acts)
	}
	events := normalized(t, queryFixture(150))
	// Ties: two actions with the same count must sort by name.
	for _, a := range []string{"TIE_B", "TIE_A", "TIE_B", "TIE_A", "TIE_C"} {
		events = append(events, normalized(t, []eventlog.Event{{Action: a, Timestamp: base.Add(-time.Hour)}})...)
	}
	mustInsert(t, ctx, s, events[:70])
	mustInsert(t, ctx, s, events[70:])
	acts, err = s.Actions(ctx)
	if err != nil {
		t.Fatalf("Actions: %v", err)
	}
	if d := cmp.Diff(modelActions(events), acts); d != "" {
		t.Errorf("Actions (-want +got):\n%s", d)
	}
}

func testStats(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	now := base
	day := 24 * time.Hour
	us := time.Microsecond
	ev := func(user string, at time.Time) eventlog.Event {
		e := eventlog.Event{Action: "VISITED", Timestamp: at}
		if user != "" {
			e.User = &eventlog.User{ID: user, Name: "N " + user}
		}
		return e
	}
	events := normalized(t, []eventlog.Event{
		ev("veteran", now.Add(-100*day)), ev("veteran", now.Add(-time.Hour)),
		ev("newcomer", now.Add(-time.Minute)), ev("newcomer", now),
		ev("at7", now.Add(-7*day)),
		ev("at30", now.Add(-30*day)),
		ev("before7", now.Add(-20*day)), ev("before7", now.Add(-7*day-us)),
		ev("old30", now.Add(-30*day-us)), ev("old30", now.Add(-7*day)),
		ev("old7", now.Add(-7*day-us)), ev("old7", now.Add(-7*day+us)),
		ev("gone", now.Add(-40*day)),
		ev("", now.Add(-time.Hour)), ev("", now.Add(-200*day)),
	})
	st, err := s.Stats(ctx, now)
	if err != nil {
		t.Fatalf("Stats on an empty store: %v", err)
	}
	if st != (eventlog.Stats{}) {
		t.Fatalf("Stats on an empty store = %+v, want zeros", st)
	}
	// Insert out of time order and in two batches so first/last seen are
	// maintained across batches.
	mustInsert(t, ctx, s, events[8:])
	mustInsert(t, ctx, s, events[:8])
	want := eventlog.Stats{UsedSeven: 5, UsedThirty: 7, ActiveSeven: 3, ActiveThirty: 2}
	if d := cmp.Diff(want, modelStats(events, now)); d != "" {
		t.Fatalf("the model disagrees with the hand-computed stats (-want +got):\n%s", d)
	}
	st, err = s.Stats(ctx, now)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if d := cmp.Diff(want, st); d != "" {
		t.Errorf("Stats (-want +got):\n%s", d)
	}
	later := now.Add(8 * day)
	st, err = s.Stats(ctx, later)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if d := cmp.Diff(modelStats(events, later), st); d != "" {
		t.Errorf("Stats eight days later (-want +got):\n%s", d)
	}
}

func testSeries(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	events := normalized(t, queryFixture(200))
	mustInsert(t, ctx, s, events)
	first := events[len(events)-1].Timestamp
	cases := map[string]eventlog.SeriesQuery{
		"hour all":           {Interval: eventlog.Hour, Since: first.Add(-3 * time.Hour), Until: base.Add(2 * time.Hour)},
		"hour unaligned":     {Interval: eventlog.Hour, Since: first.Add(17 * time.Minute), Until: base.Add(-29 * time.Minute)},
		"hour action":        {Interval: eventlog.Hour, Since: first, Until: base, Actions: []string{"LOGGED_IN"}},
		"hour actions":       {Interval: eventlog.Hour, Since: first, Until: base, Actions: []string{"LOGGED_IN", "PAID_50%_OFF"}},
		"day all":            {Interval: eventlog.Day, Since: first.Add(-72 * time.Hour), Until: base.Add(48 * time.Hour)},
		"day action":         {Interval: eventlog.Day, Since: first, Until: base, Actions: []string{"A_B_TEST"}},
		"day unknown action": {Interval: eventlog.Day, Since: first, Until: base, Actions: []string{"NEVER_HAPPENED"}},
		"day empty range":    {Interval: eventlog.Day, Since: base.Add(10 * 24 * time.Hour), Until: base.Add(20 * 24 * time.Hour)},
	}
	for name, q := range cases {
		if err := q.Normalize(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := s.Series(ctx, q)
		if err != nil {
			t.Fatalf("%s: Series: %v", name, err)
		}
		if d := cmp.Diff(modelSeries(events, q, false), got); d != "" {
			t.Errorf("%s: Series (-want +got):\n%s", name, d)
		}
	}
}

func testActiveUsers(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	events := normalized(t, queryFixture(200))
	mustInsert(t, ctx, s, events)
	first := events[len(events)-1].Timestamp
	cases := map[string]eventlog.SeriesQuery{
		"day":            {Interval: eventlog.Day, Since: first.Add(-48 * time.Hour), Until: base.Add(48 * time.Hour)},
		"day unaligned":  {Interval: eventlog.Day, Since: first.Add(5 * time.Hour), Until: base.Add(-3 * time.Hour)},
		"hour":           {Interval: eventlog.Hour, Since: first, Until: base.Add(time.Hour)},
		"hour unaligned": {Interval: eventlog.Hour, Since: first.Add(95 * time.Minute), Until: base.Add(-7 * time.Hour)},
		"day empty":      {Interval: eventlog.Day, Since: base.Add(5 * 24 * time.Hour), Until: base.Add(9 * 24 * time.Hour)},
	}
	for name, q := range cases {
		if err := q.Normalize(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := s.ActiveUsers(ctx, q)
		if err != nil {
			t.Fatalf("%s: ActiveUsers: %v", name, err)
		}
		if d := cmp.Diff(modelSeries(events, q, true), got); d != "" {
			t.Errorf("%s: ActiveUsers (-want +got):\n%s", name, d)
		}
	}
}

// testActiveUsersAcrossBatches checks the daily active users that a
// store keeps as a rollup: batches interleaved in time, so a user's day
// is met again by later batches, and batches that repeat stored events,
// must count each user once per day.
func testActiveUsersAcrossBatches(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	events := normalized(t, queryFixture(240))
	var odd, even []eventlog.Event
	for i, e := range events {
		if i%2 == 0 {
			even = append(even, e)
		} else {
			odd = append(odd, e)
		}
	}
	mustInsert(t, ctx, s, even[:60])
	mustInsert(t, ctx, s, odd)
	mustInsert(t, ctx, s, append(even[40:], odd[:30]...)) // 20 + 30 stored already
	first := events[len(events)-1].Timestamp
	q := eventlog.SeriesQuery{Interval: eventlog.Day, Since: first.Add(-24 * time.Hour), Until: base.Add(24 * time.Hour)}
	if err := q.Normalize(); err != nil {
		t.Fatal(err)
	}
	got, err := s.ActiveUsers(ctx, q)
	if err != nil {
		t.Fatalf("ActiveUsers: %v", err)
	}
	want := modelSeries(events, q, true)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ActiveUsers by day (-want +got):\n%s", d)
	}
	var busy bool
	for _, b := range want {
		busy = busy || b.Count > 1
	}
	if !busy {
		t.Fatal("no day has two users; the fixture tests nothing")
	}
}

func testReadAfter(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	got, err := s.ReadAfter(ctx, "", 10)
	if err != nil {
		t.Fatalf("ReadAfter on an empty store: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("ReadAfter on an empty store = %d events", len(got))
	}
	// Timestamps deliberately out of order: write order is not time order.
	fixture := normalized(t, queryFixture(30))
	slices.Reverse(fixture[10:20])
	var written []eventlog.Event
	for _, batch := range [][]eventlog.Event{fixture[:10], fixture[10:20], fixture[20:]} {
		mustInsert(t, ctx, s, batch)
		written = append(written, batch...)
		// A repeat is not written again and does not move.
		mustInsert(t, ctx, s, fixture[:1])
	}
	got, err = s.ReadAfter(ctx, "", 100)
	if err != nil {
		t.Fatalf("ReadAfter: %v", err)
	}
	if d := diffEvents(written, got); d != "" {
		t.Errorf("ReadAfter(\"\") must return events in write order (-want +got):\n%s", d)
	}
	got, err = s.ReadAfter(ctx, written[4].ID, 3)
	if err != nil {
		t.Fatalf("ReadAfter: %v", err)
	}
	if d := diffEvents(written[5:8], got); d != "" {
		t.Errorf("ReadAfter(5th, 3) (-want +got):\n%s", d)
	}
	var resumed []eventlog.Event
	after := ""
	for {
		page, err := s.ReadAfter(ctx, after, 4)
		if err != nil {
			t.Fatalf("ReadAfter: %v", err)
		}
		if len(page) == 0 {
			break
		}
		resumed = append(resumed, page...)
		after = page[len(page)-1].ID
	}
	if d := diffEvents(written, resumed); d != "" {
		t.Errorf("resuming ReadAfter 4 at a time (-want +got):\n%s", d)
	}
	got, err = s.ReadAfter(ctx, written[len(written)-1].ID, 10)
	if err != nil || len(got) != 0 {
		t.Errorf("ReadAfter(last) = %d events, %v; want none, nil", len(got), err)
	}
	if _, err := s.ReadAfter(ctx, uuid.NewString(), 10); !errors.Is(err, eventlog.ErrNotFound) {
		t.Errorf("ReadAfter(unknown id) error = %v, want one wrapping ErrNotFound", err)
	}
}

func testForgetUser(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	events := normalized(t, queryFixture(120))
	mustInsert(t, ctx, s, events)
	n, err := s.ForgetUser(ctx, "alice")
	if err != nil {
		t.Fatalf("ForgetUser: %v", err)
	}
	var want []eventlog.Event
	var changed int64
	for _, e := range events {
		if e.User != nil && e.User.ID == "alice" {
			e.User = nil
			changed++
		}
		want = append(want, e)
	}
	if changed == 0 {
		t.Fatal("fixture has no events of alice; the test tests nothing")
	}
	if n != changed {
		t.Errorf("ForgetUser returned %d, want %d", n, changed)
	}
	for _, w := range want {
		got, err := s.Get(ctx, w.ID)
		if err != nil {
			t.Fatalf("Get(%s): %v", w.ID, err)
		}
		if d := diffEvents(w, got); d != "" {
			t.Errorf("after ForgetUser, Get(%s) (-want +got):\n%s", w.ID, d)
		}
	}
	for _, q := range []eventlog.Query{{UserID: "alice"}, {Text: "alice"}, {Text: "smith"}, {}} {
		q.Limit = 1000
		if d := diffEvents(modelQuery(want, q), queryAll(t, ctx, s, q)); d != "" {
			t.Errorf("after ForgetUser, query %+v (-want +got):\n%s", q, d)
		}
	}
	st, err := s.Stats(ctx, base)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if d := cmp.Diff(modelStats(want, base), st); d != "" {
		t.Errorf("after ForgetUser, Stats (-want +got):\n%s", d)
	}
	aq := eventlog.SeriesQuery{Interval: eventlog.Day, Since: base.Add(-10 * 24 * time.Hour), Until: base.Add(time.Hour)}
	if err := aq.Normalize(); err != nil {
		t.Fatal(err)
	}
	active, err := s.ActiveUsers(ctx, aq)
	if err != nil {
		t.Fatalf("ActiveUsers: %v", err)
	}
	if d := cmp.Diff(modelSeries(want, aq, true), active); d != "" {
		t.Errorf("after ForgetUser, ActiveUsers (-want +got):\n%s", d)
	}
	acts, err := s.Actions(ctx)
	if err != nil {
		t.Fatalf("Actions: %v", err)
	}
	if d := cmp.Diff(modelActions(want), acts); d != "" {
		t.Errorf("ForgetUser must keep the events counted (-want +got):\n%s", d)
	}
	if n, err := s.ForgetUser(ctx, "alice"); err != nil || n != 0 {
		t.Errorf("ForgetUser again = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.ForgetUser(ctx, "nobody-at-all"); err != nil || n != 0 {
		t.Errorf("ForgetUser(unknown) = %d, %v; want 0, nil", n, err)
	}
}

func testConcurrentInserts(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	const goroutines, each = 16, 50
	errs := make(chan error, goroutines)
	ids := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := eventlog.Event{Action: fmt.Sprintf("WORKER_%02d", g), Timestamp: base.Add(-time.Duration(i) * time.Second),
					User: &eventlog.User{ID: fmt.Sprintf("u%d", i%7)}, Extra: json.RawMessage(`{"i":` + fmt.Sprint(i) + `}`)}
				if err := e.Normalize(base); err != nil {
					errs <- err
					return
				}
				if _, inserted, err := s.Insert(ctx, []eventlog.Event{e}); err != nil || !inserted[0] {
					errs <- fmt.Errorf("goroutine %d insert %d: inserted=%v err=%v", g, i, inserted, err)
					return
				}
				ids[g] = append(ids[g], e.ID)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, err := s.ReadAfter(ctx, "", 10*goroutines*each)
	if err != nil {
		t.Fatalf("ReadAfter: %v", err)
	}
	got := map[string]int{}
	for _, e := range all {
		got[e.ID]++
	}
	for g := range ids {
		for _, id := range ids[g] {
			if got[id] != 1 {
				t.Errorf("event %s stored %d times, want once", id, got[id])
			}
		}
	}
	if len(all) != goroutines*each {
		t.Errorf("store holds %d events, want %d", len(all), goroutines*each)
	}
	acts, err := s.Actions(ctx)
	if err != nil {
		t.Fatalf("Actions: %v", err)
	}
	if d := cmp.Diff(modelActions(all), acts); d != "" {
		t.Errorf("action rollup after concurrent inserts (-want +got):\n%s", d)
	}
}

func testLoggerRejects(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	l, err := eventlog.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	bad := []struct {
		field string
		log   func() error
	}{
		{"action", func() error { _, err := l.Log(ctx, ""); return err }},
		{"action", func() error { _, err := l.Log(ctx, "BAD\nACTION"); return err }},
		{"extra", func() error { _, err := l.Log(ctx, "OK", json.RawMessage(`{"unterminated":`)); return err }},
		{"user.id", func() error { _, err := l.Log(ctx, "OK", eventlog.User{Name: "no id"}); return err }},
		{"object.id", func() error { _, err := l.Log(ctx, "OK", eventlog.Object{Type: "widget"}); return err }},
		{"id", func() error { _, err := l.Log(ctx, "OK", eventlog.ID("not-a-uuid")); return err }},
		{"extra", func() error {
			_, err := l.LogBatch(ctx, []eventlog.Event{{Action: "GOOD"}, {Action: "BAD", Extra: json.RawMessage(`{`)}})
			return err
		}},
	}
	for i, b := range bad {
		err := b.log()
		var ve *eventlog.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, eventlog.ErrInvalid) {
			t.Errorf("bad input %d: error = %v, want a *ValidationError", i, err)
			continue
		}
		if ve.Field != b.field {
			t.Errorf("bad input %d: error names field %q, want %q", i, ve.Field, b.field)
		}
	}
	if n := count(t, ctx, s); n != 0 {
		t.Errorf("rejected input stored %d events", n)
	}
	acts, err := s.Actions(ctx)
	if err != nil || len(acts) != 0 {
		t.Errorf("rejected input changed the action rollup: %v, %v", acts, err)
	}
}

func testLoggerGroupCommit(t *testing.T, s eventlog.Store) {
	ctx := ctxT(t)
	l, err := eventlog.New(s, &eventlog.Config{Now: func() time.Time { return base }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ch, cancel := l.SubscribeChan(10000)
	defer cancel()
	const callers, each = 16, 25
	logged := make([][]eventlog.Event, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e, err := l.Log(ctx, "GROUP_COMMIT", eventlog.User{ID: fmt.Sprintf("caller-%d", c)}, eventlog.Extra{"i": i})
				if err != nil {
					errs[c] = err
					return
				}
				logged[c] = append(logged[c], e)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, events := range logged {
		for _, want := range events {
			got, err := s.Get(ctx, want.ID)
			if err != nil {
				t.Fatalf("Get(%s) after Log returned: %v", want.ID, err)
			}
			if d := diffEvents(want, got); d != "" {
				t.Errorf("Log returned an event that differs from the stored one (-want +got):\n%s", d)
			}
		}
	}
	if n := count(t, ctx, s); n != callers*each {
		t.Errorf("store holds %d events, want %d", n, callers*each)
	}
	m := l.Metrics()
	if m.Written != callers*each || m.Failed != 0 {
		t.Errorf("metrics = %+v, want Written %d, Failed 0", m, callers*each)
	}
	if m.Batches < 1 || m.Batches > callers*each {
		t.Errorf("metrics Batches = %d, want between 1 and %d", m.Batches, callers*each)
	}
	delivered := map[string]bool{}
	for len(delivered) < callers*each {
		select {
		case e := <-ch:
			if delivered[e.ID] {
				t.Fatalf("event %s delivered twice", e.ID)
			}
			delivered[e.ID] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("subscriber got %d of %d events", len(delivered), callers*each)
		}
	}
}

func testPing(t *testing.T, s eventlog.Store) {
	if err := s.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testOutboxSQLTx(t *testing.T, s eventlog.Store) {
	if _, ok := s.(eventlog.SQLTxStore); !ok {
		t.Skipf("%T does not implement eventlog.SQLTxStore", s)
	}
	sqlStore, ok := s.(eventlog.SQLStore)
	if !ok {
		t.Skipf("%T implements SQLTxStore but not SQLStore; cannot open a transaction on its database", s)
	}
	ctx := ctxT(t)
	l, err := eventlog.New(s, &eventlog.Config{Now: func() time.Time { return base }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ch, cancel := l.SubscribeChan(16)
	defer cancel()
	db := sqlStore.SQLDB()

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("BeginTx: %v", err)
	}
	ob, err := l.OutboxSQL(tx)
	if err != nil {
		t.Fatalf("OutboxSQL: %v", err)
	}
	lost, err := ob.Log(ctx, "ROLLED_BACK", eventlog.User{ID: "outbox-user"})
	if err != nil {
		t.Fatalf("Outbox.Log: %v", err)
	}
	if err := ob.Rollback(); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if _, err := s.Get(ctx, lost.ID); !errors.Is(err, eventlog.ErrNotFound) {
		t.Errorf("Get(rolled back event) error = %v, want ErrNotFound", err)
	}

	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("BeginTx: %v", err)
	}
	ob, err = l.OutboxSQL(tx)
	if err != nil {
		t.Fatalf("OutboxSQL: %v", err)
	}
	kept, err := ob.Log(ctx, "COMMITTED", eventlog.User{ID: "outbox-user"}, eventlog.Extra{"n": 1})
	if err != nil {
		t.Fatalf("Outbox.Log: %v", err)
	}
	select {
	case e := <-ch:
		t.Fatalf("subscriber got %s %s before Commit", e.Action, e.ID)
	default:
	}
	if err := ob.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	got, err := s.Get(ctx, kept.ID)
	if err != nil {
		t.Fatalf("Get(committed event): %v", err)
	}
	if d := diffEvents(kept, got); d != "" {
		t.Errorf("committed outbox event (-want +got):\n%s", d)
	}
	select {
	case e := <-ch:
		if e.ID != kept.ID {
			t.Errorf("subscriber got %s %s, want the committed event %s", e.Action, e.ID, kept.ID)
		}
	case <-time.After(10 * time.Second):
		t.Error("subscriber was not called after Commit")
	}
	// Rollups were maintained in the caller's transaction.
	acts, err := s.Actions(ctx)
	if err != nil {
		t.Fatalf("Actions: %v", err)
	}
	if d := cmp.Diff([]eventlog.ActionCount{{Action: "COMMITTED", Count: 1}}, acts); d != "" {
		t.Errorf("Actions after outbox commit and rollback (-want +got):\n%s", d)
	}
	st, err := s.Stats(ctx, base)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if d := cmp.Diff(eventlog.Stats{UsedSeven: 1, UsedThirty: 1}, st); d != "" {
		t.Errorf("Stats after outbox commit (-want +got):\n%s", d)
	}
}
