package gen

import (
	"encoding/hex"
	"fmt"
	"iter"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/eventlog/eventlog"
)

// Config shapes the generated events. A nil *Config means all defaults.
type Config struct {
	// Seed selects the sequence; equal seeds give equal events.
	// Defaults to 1.
	Seed uint64
	// Events is how many events the timeline is spread over; Batches stops
	// after this many, Next continues past End at the same pace.
	// Defaults to 1,000,000.
	Events int64
	// Actions is the number of distinct actions. Defaults to 100.
	Actions int
	// Users is the number of distinct users. Defaults to 100,000.
	Users int
	// End is the timestamp of the last event. Defaults to
	// 2026-01-01T00:00:00Z.
	End time.Time
	// Span is the time covered by the events. Defaults to 365 days.
	Span time.Duration
}

// Generator produces events. It is not safe for concurrent use.
type Generator struct {
	cfg     Config
	r       *rand.Rand
	actions *rand.Zipf
	users   *rand.Zipf
	objects *rand.Zipf
	start   time.Time
	stepNs  float64
	i       int64
	note    []byte
}

// New returns a generator for cfg.
func New(cfg *Config) (*Generator, error) {
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Events == 0 {
		c.Events = 1_000_000
	}
	if c.Actions == 0 {
		c.Actions = 100
	}
	if c.Users == 0 {
		c.Users = 100_000
	}
	if c.End.IsZero() {
		c.End = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.Span == 0 {
		c.Span = 365 * 24 * time.Hour
	}
	switch {
	case c.Events < 1:
		return nil, fmt.Errorf("gen: Config.Events %d must be positive", c.Events)
	case c.Actions < 1:
		return nil, fmt.Errorf("gen: Config.Actions %d must be positive", c.Actions)
	case c.Users < 1:
		return nil, fmt.Errorf("gen: Config.Users %d must be positive", c.Users)
	case c.Span <= 0:
		return nil, fmt.Errorf("gen: Config.Span %v must be positive", c.Span)
	}
	r := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	g := &Generator{
		cfg:     c,
		r:       r,
		actions: rand.NewZipf(r, 1.1, 1, uint64(c.Actions-1)),
		users:   rand.NewZipf(r, 1.05, 1, uint64(c.Users-1)),
		objects: rand.NewZipf(r, 1.2, 1, 999_999),
		start:   c.End.UTC().Add(-c.Span),
		stepNs:  float64(c.Span) / float64(c.Events),
	}
	return g, nil
}

// Config returns the configuration in effect, defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

var (
	verbs   = []string{"CREATED", "UPDATED", "DELETED", "VIEWED", "SHARED", "EXPORTED", "ARCHIVED", "RESTORED", "COMMENTED_ON", "INVITED_TO"}
	nouns   = []string{"WIDGET", "ORDER", "INVOICE", "PROJECT", "DOCUMENT", "REPORT", "TEAM", "SUBSCRIPTION", "DASHBOARD", "API_KEY"}
	common  = []string{"LOGGED_IN", "VIEWED_PAGE", "SEARCHED", "LOGGED_OUT", "SIGNED_UP", "PASSWORD_RESET", "UPGRADED_PLAN", "DOWNGRADED_PLAN"}
	objects = []string{"widget", "order", "invoice", "project", "document", "report", "team", "subscription"}
	first   = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis", "Radia", "Niklaus", "Sophie", "Tim", "Hedy", "Linus"}
	last    = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie", "Perlman", "Wirth", "Wilson", "Berners-Lee", "Lamarr", "Torvalds"}
	plans   = []string{"free", "free", "free", "free", "free", "free", "pro", "pro", "pro", "team"}
	agents  = []string{"Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", "Mozilla/5.0 (Macintosh) Safari/605.1.15", "curl/8.5.0", "okhttp/4.12.0"}
	words   = []string{"alpha", "beta", "gamma", "delta", "quick", "brown", "fox", "lazy", "dog", "report", "weekly", "export", "checkout", "cart", "coupon", "retry"}
)

// ActionName returns the action of the given popularity rank (0 is the
// most frequent).
func ActionName(rank int) string {
	if rank < len(common) {
		return common[rank]
	}
	rank -= len(common)
	n := len(verbs) * len(nouns)
	name := verbs[rank%len(verbs)] + "_" + nouns[(rank/len(verbs))%len(nouns)]
	if rank >= n {
		name += "_" + strconv.Itoa(rank/n)
	}
	return name
}

// UserID returns the id of the user of the given rank (0 is the most
// active).
func UserID(rank int) string { return "user-" + strconv.Itoa(rank) }

// UserName returns the display name of the user of the given rank.
func UserName(rank int) string {
	return first[rank%len(first)] + " " + last[(rank/len(first))%len(last)]
}

// Next returns the next event. It is normalized: eventlog.Event.Normalize
// would change nothing.
func (g *Generator) Next() eventlog.Event {
	r := g.r
	ts := g.start.Add(time.Duration(float64(g.i)*g.stepNs) + time.Duration(r.Float64()*g.stepNs)).
		Truncate(time.Microsecond)
	g.i++
	e := eventlog.Event{
		ID:        g.id(ts),
		Timestamp: ts,
		Action:    ActionName(int(g.actions.Uint64())),
	}
	if r.IntN(10) != 0 { // one event in ten is anonymous
		u := int(g.users.Uint64())
		e.User = &eventlog.User{ID: UserID(u), Name: UserName(u)}
	}
	if r.IntN(5) != 0 {
		e.Object = &eventlog.Object{Type: objects[r.IntN(len(objects))], ID: strconv.FormatUint(g.objects.Uint64()+1, 10)}
	}
	if r.IntN(10) < 3 {
		e.Context = &eventlog.RequestContext{
			IP:        "10." + strconv.Itoa(r.IntN(256)) + "." + strconv.Itoa(r.IntN(256)) + "." + strconv.Itoa(r.IntN(256)),
			UserAgent: agents[r.IntN(len(agents))],
			Method:    [...]string{"GET", "POST"}[r.IntN(2)],
			Path:      "/" + objects[r.IntN(len(objects))] + "s/" + strconv.Itoa(r.IntN(10000)),
		}
	}
	e.Extra = g.extra()
	return e
}

// id returns a UUIDv7 whose time is ts and whose random bits come from
// the seeded source, so ids are both deterministic and time-ordered.
func (g *Generator) id(ts time.Time) string {
	var u [16]byte
	ms := uint64(ts.UnixMilli())
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	a, b := g.r.Uint64(), g.r.Uint64()
	for i := 6; i < 16; i++ {
		if i < 11 {
			u[i] = byte(a >> (8 * (i - 6)))
		} else {
			u[i] = byte(b >> (8 * (i - 11)))
		}
	}
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // RFC 4122 variant
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// extra builds compact JSON of 100–400 bytes: a few typed fields that
// where-filters can select, and a note of words padding it to a size
// drawn uniformly from that range.
func (g *Generator) extra() []byte {
	r := g.r
	target := 100 + r.IntN(301)
	b := make([]byte, 0, target)
	b = append(b, `{"status":`...)
	b = strconv.AppendInt(b, int64([...]int{200, 200, 200, 200, 200, 200, 200, 201, 302, 404, 404, 500}[r.IntN(12)]), 10)
	b = append(b, `,"plan":"`...)
	b = append(b, plans[r.IntN(len(plans))]...)
	b = append(b, `","amount":`...)
	b = strconv.AppendFloat(b, float64(r.IntN(100000))/100, 'f', -1, 64)
	b = append(b, `,"trial":`...)
	b = strconv.AppendBool(b, r.IntN(4) == 0)
	b = append(b, `,"ref":"campaign-`...)
	b = strconv.AppendInt(b, int64(r.IntN(50)), 10)
	b = append(b, `","note":"`...)
	note := len(b)
	for len(b) < target-2 {
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, ' ')
	}
	// Cut the words to the drawn size; the text is ASCII, so any cut is
	// valid JSON.
	b = append(b[:max(note, target-2)], `"}`...)
	return b
}

// Fill replaces every element of buf with the next events.
func (g *Generator) Fill(buf []eventlog.Event) {
	for i := range buf {
		buf[i] = g.Next()
	}
}

// Batches yields the remaining events of the configured total in batches
// of size, reusing one buffer: a batch is valid only until the next one
// is requested, and memory stays constant however many events there are.
func (g *Generator) Batches(size int) iter.Seq[[]eventlog.Event] {
	return func(yield func([]eventlog.Event) bool) {
		if size < 1 {
			size = 1000
		}
		buf := make([]eventlog.Event, size)
		for g.i < g.cfg.Events {
			n := int(min(int64(size), g.cfg.Events-g.i))
			g.Fill(buf[:n])
			if !yield(buf[:n]) {
				return
			}
		}
	}
}
