package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/eventlog/eventlog"
)

// bodyPool recycles request and response buffers; buffers that grew past
// maxPooled are dropped so one huge batch does not pin memory.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooled = 1 << 20

func getBuf() *bytes.Buffer { b := bodyPool.Get().(*bytes.Buffer); b.Reset(); return b }

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooled {
		bodyPool.Put(b)
	}
}

// postEvents ingests one event (object in, object out) or an array of
// events (array in, array out, all or nothing).
func (h *Handler) postEvents(w http.ResponseWriter, r *http.Request) {
	in := getBuf()
	defer putBuf(in)
	if _, err := in.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodyBytes)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.reject(w, r, &fieldError{field: "body", msg: fmt.Sprintf("is larger than %d bytes (10 MiB)", MaxBodyBytes), err: errTooLarge})
			return
		}
		h.reject(w, r, &fieldError{field: "body", msg: "could not be read", err: eventlog.ErrInvalid})
		return
	}
	body := bytes.TrimSpace(in.Bytes())
	if len(body) == 0 {
		h.reject(w, r, &fieldError{field: "body", msg: "is empty; send an event object or an array of events", err: eventlog.ErrInvalid})
		return
	}
	ctx := r.Context()
	out := getBuf()
	defer putBuf(out)
	switch body[0] {
	case '{':
		var e eventlog.Event
		if err := decodeEvent(body, &e); err != nil {
			h.reject(w, r, err)
			return
		}
		stored, err := h.logger.LogEvent(ctx, e)
		if err != nil {
			h.reject(w, r, err)
			return
		}
		h.metrics.accepted.Inc()
		h.metrics.batchSize.Observe(1)
		out.Write(stored.AppendJSON(out.AvailableBuffer()))
	case '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(body, &raws); err != nil {
			h.reject(w, r, &fieldError{field: "body", msg: "is not a JSON array of event objects: " + jsonErrText(err), err: eventlog.ErrInvalid})
			return
		}
		if len(raws) > MaxEvents {
			h.reject(w, r, &fieldError{field: "body", msg: fmt.Sprintf("has %d events; the limit is %d per request", len(raws), MaxEvents), err: errTooMany})
			return
		}
		events := make([]eventlog.Event, len(raws))
		for i, raw := range raws {
			// raw was validated with the array; decode it without a
			// second validation pass.
			if err := events[i].UnmarshalJSON(raw); err != nil {
				h.reject(w, r, eventlog.AtIndex(err, i))
				return
			}
		}
		stored, err := h.logger.LogBatch(ctx, events)
		if err != nil {
			h.reject(w, r, err)
			return
		}
		h.metrics.accepted.Add(float64(len(stored)))
		h.metrics.batchSize.Observe(float64(len(stored)))
		b := out.AvailableBuffer()
		b = append(b, '[')
		for i := range stored {
			if i > 0 {
				b = append(b, ',')
			}
			b = stored[i].AppendJSON(b)
		}
		b = append(b, ']')
		out.Write(b)
	default:
		h.reject(w, r, &fieldError{field: "body", msg: "must be an event object or an array of event objects", err: eventlog.ErrInvalid})
		return
	}
	out.WriteByte('\n')
	w.Header().Set("Content-Type", "application/json")
	if h.queued {
		w.WriteHeader(http.StatusAccepted)
	} else {
		w.WriteHeader(http.StatusCreated)
	}
	w.Write(out.Bytes())
}

// reject counts a refused ingest by reason and answers with the error.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, err error) {
	h.metrics.rejected.WithLabelValues(codeOf(err)).Inc()
	h.writeError(w, r, err)
}

// decodeEvent reads one event strictly; a JSON error names the field
// through Event.UnmarshalJSON, and malformed JSON names "body".
func decodeEvent(raw []byte, e *eventlog.Event) error {
	if err := json.Unmarshal(raw, e); err != nil {
		var ve *eventlog.ValidationError
		if errors.As(err, &ve) {
			return ve
		}
		return &eventlog.ValidationError{Field: "body", Index: -1, Message: "is not valid JSON: " + jsonErrText(err)}
	}
	return nil
}

func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("found %s where %s was expected", te.Value, te.Type)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

// queryParams names the parameters each read endpoint accepts, so a
// misspelt one is a 400 rather than silently ignored.
var (
	listParams   = []string{"action", "user", "object_type", "object_id", "since", "until", "q", "where", "limit", "cursor"}
	streamParams = []string{"action", "user", "object_type", "object_id", "since", "until", "q", "where"}
	seriesParams = []string{"interval", "since", "until", "action"}
)

func checkParams(v url.Values, allowed []string) error {
	for k := range v {
		if k == "" {
			return &fieldError{field: "query", msg: "has a parameter with an empty name (a stray = or &)", err: eventlog.ErrInvalid}
		}
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			return &fieldError{field: k, msg: "is not a parameter of this endpoint", err: eventlog.ErrInvalid}
		}
	}
	return nil
}

func single(v url.Values, name string) (string, error) {
	vs := v[name]
	if len(vs) > 1 {
		return "", &fieldError{field: name, msg: "must be given at most once", err: eventlog.ErrInvalid}
	}
	if len(vs) == 0 {
		return "", nil
	}
	return vs[0], nil
}

// parseQuery reads the filters shared by the list and the stream.
func (h *Handler) parseQuery(v url.Values, allowed []string) (eventlog.Query, error) {
	var q eventlog.Query
	if err := checkParams(v, allowed); err != nil {
		return q, err
	}
	q.Actions = v["action"]
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{{"user", &q.UserID}, {"object_type", &q.ObjectType}, {"object_id", &q.ObjectID}, {"q", &q.Text}} {
		if *f.dst, err = single(v, f.name); err != nil {
			return q, err
		}
	}
	now := h.now()
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		s, err := single(v, f.name)
		if err != nil {
			return q, err
		}
		if s == "" {
			continue
		}
		if *f.dst, err = eventlog.ParseTime(f.name, s, now); err != nil {
			return q, err
		}
	}
	for _, s := range v["where"] {
		w, err := eventlog.ParseWhere(s)
		if err != nil {
			return q, err
		}
		q.Where = append(q.Where, w)
	}
	if s, err := single(v, "limit"); err != nil {
		return q, err
	} else if s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > eventlog.MaxLimit {
			return q, &fieldError{field: "limit", msg: fmt.Sprintf("must be a whole number from 1 to %d", eventlog.MaxLimit), err: eventlog.ErrInvalid}
		}
		q.Limit = n
	}
	if s, err := single(v, "cursor"); err != nil {
		return q, err
	} else if s != "" {
		if q.After, err = eventlog.ParseCursor(s); err != nil {
			return q, err
		}
	}
	return q, q.Normalize()
}

func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request) {
	q, err := h.parseQuery(r.URL.Query(), listParams)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	page, err := h.store.Query(r.Context(), q)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := getBuf()
	defer putBuf(out)
	b := append(out.AvailableBuffer(), `{"events":[`...)
	for i := range page.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = page.Events[i].AppendJSON(b)
	}
	b = append(b, `],"next_cursor":`...)
	if page.Next != nil {
		b = append(b, '"')
		b = append(b, page.Next.String()...)
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, "}\n"...)
	out.Write(b)
	w.Header().Set("Content-Type", "application/json")
	w.Write(out.Bytes())
}

func (h *Handler) getEvent(w http.ResponseWriter, r *http.Request) {
	u, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, fmt.Errorf("event id %q is not a UUID: %w", r.PathValue("id"), eventlog.ErrNotFound))
		return
	}
	e, err := h.store.Get(r.Context(), u.String())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(e.AppendJSON(nil), '\n'))
}

func (h *Handler) actions(w http.ResponseWriter, r *http.Request) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		h.writeError(w, r, err)
		return
	}
	acts, err := h.store.Actions(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if acts == nil {
		acts = []eventlog.ActionCount{}
	}
	h.writeJSON(w, http.StatusOK, struct {
		Actions []eventlog.ActionCount `json:"actions"`
	}{acts})
}

func (h *Handler) stats(w http.ResponseWriter, r *http.Request) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		h.writeError(w, r, err)
		return
	}
	st, err := h.store.Stats(r.Context(), h.now())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, st)
}

// series answers counts per bucket. since and until default to the last
// 30 days (interval day) or the last 24 hours (interval hour).
func (h *Handler) series(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	if err := checkParams(v, seriesParams); err != nil {
		h.writeError(w, r, err)
		return
	}
	var sq eventlog.SeriesQuery
	iv, err := single(v, "interval")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	sq.Interval = eventlog.Interval(iv)
	if sq.Interval == "" {
		sq.Interval = eventlog.Day
	}
	now := h.now()
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"since", &sq.Since}, {"until", &sq.Until}} {
		s, err := single(v, f.name)
		if err == nil && s != "" {
			*f.dst, err = eventlog.ParseTime(f.name, s, now)
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	if sq.Until.IsZero() {
		sq.Until = now
	}
	if sq.Since.IsZero() {
		span := 30 * 24 * time.Hour
		if sq.Interval == eventlog.Hour {
			span = 24 * time.Hour
		}
		sq.Since = sq.Until.Add(-span)
	}
	sq.Actions = v["action"]
	if err := sq.Normalize(); err != nil {
		h.writeError(w, r, err)
		return
	}
	buckets, err := h.store.Series(r.Context(), sq)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	type bucket struct {
		Start string `json:"start"`
		Count int64  `json:"count"`
	}
	out := make([]bucket, len(buckets))
	for i, b := range buckets {
		out[i] = bucket{Start: b.Start.UTC().Format(time.RFC3339), Count: b.Count}
	}
	h.writeJSON(w, http.StatusOK, struct {
		Interval eventlog.Interval `json:"interval"`
		Buckets  []bucket          `json:"buckets"`
	}{sq.Interval, out})
}
