package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
)

// Options configure a Client. A nil *Options means all defaults.
type Options struct {
	// HTTPClient sends the requests. Defaults to a client with a 30-second
	// timeout and up to 64 idle connections to the server.
	HTTPClient *http.Client
	// UserAgent is sent with every request. Defaults to "eventlog-go-client".
	UserAgent string
}

// Client calls an eventlog server. It is safe for concurrent use.
type Client struct {
	base  string
	auth  string
	hc    *http.Client
	agent string
}

// New returns a client for the server at baseURL (such as
// "http://127.0.0.1:8080") authenticating with token; an empty token
// sends no Authorization header.
func New(baseURL, token string, opts *Options) *Client {
	if opts == nil {
		opts = &Options{}
	}
	c := &Client{base: strings.TrimRight(baseURL, "/"), hc: opts.HTTPClient, agent: opts.UserAgent}
	if token != "" {
		c.auth = "Bearer " + token
	}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 64
		tr.MaxIdleConnsPerHost = 64
		c.hc = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	if c.agent == "" {
		c.agent = "eventlog-go-client"
	}
	return c
}

// Error is an error answered by the server, decoded from its body
// {"error":{"code","message","field","index"}}.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the API error code: invalid, not_found, unauthorized,
	// forbidden, too_large, method_not_allowed, unavailable or internal.
	Code string
	// Message explains the error.
	Message string
	// Field names the bad field or parameter, when one is to blame.
	Field string
	// Index is the position of the bad event in a batch, or -1.
	Index int
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "eventlog server: %d %s", e.Status, e.Code)
	if e.Index >= 0 {
		fmt.Fprintf(&b, " (event %d)", e.Index)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap lets errors.Is match eventlog.ErrInvalid for "invalid" and
// "too_large", eventlog.ErrNotFound for "not_found" and
// eventlog.ErrClosed for "unavailable".
func (e *Error) Unwrap() error {
	switch e.Code {
	case "invalid", "too_large":
		return eventlog.ErrInvalid
	case "not_found":
		return eventlog.ErrNotFound
	case "unavailable":
		return eventlog.ErrClosed
	}
	return nil
}

// Log builds an event from Log's arguments (see eventlog.Logger.Log),
// sends it and returns it as stored.
func (c *Client) Log(ctx context.Context, action string, args ...any) (eventlog.Event, error) {
	e, err := eventlog.NewEvent(action, args...)
	if err != nil {
		return eventlog.Event{}, err
	}
	return c.LogEvent(ctx, e)
}

// LogEvent sends one event and returns it as stored. Retrying with the
// same ID is safe: the server stores it once.
func (c *Client) LogEvent(ctx context.Context, e eventlog.Event) (eventlog.Event, error) {
	var out eventlog.Event
	body, err := e.MarshalJSON()
	if err != nil {
		return out, err
	}
	if e.Timestamp.IsZero() {
		body = dropZeroTimestamp(body)
	}
	err = c.do(ctx, http.MethodPost, "/api/v1/events", nil, body, http.StatusCreated, &out)
	return out, err
}

// LogBatch sends up to 10,000 events atomically and returns them as
// stored, in order.
func (c *Client) LogBatch(ctx context.Context, events []eventlog.Event) ([]eventlog.Event, error) {
	if len(events) == 0 {
		return nil, nil
	}
	body := make([]byte, 0, 256*len(events))
	body = append(body, '[')
	for i, e := range events {
		if i > 0 {
			body = append(body, ',')
		}
		if e.Timestamp.IsZero() {
			body = append(body, dropZeroTimestamp(e.AppendJSON(nil))...)
		} else {
			body = e.AppendJSON(body)
		}
	}
	body = append(body, ']')
	var out []eventlog.Event
	err := c.do(ctx, http.MethodPost, "/api/v1/events", nil, body, http.StatusCreated, &out)
	return out, err
}

// dropZeroTimestamp removes the zero timestamp the canonical form always
// writes, so the server assigns its own time.
func dropZeroTimestamp(b []byte) []byte {
	zero := []byte(`,"timestamp":"` + eventlog.FormatTime(time.Time{}) + `"`)
	return bytes.Replace(b, zero, nil, 1)
}

// Get returns the event with this id; an unknown id matches
// eventlog.ErrNotFound.
func (c *Client) Get(ctx context.Context, id string) (eventlog.Event, error) {
	var out eventlog.Event
	err := c.do(ctx, http.MethodGet, "/api/v1/events/"+url.PathEscape(id), nil, nil, http.StatusOK, &out)
	return out, err
}

// Query returns one page of events, newest first.
func (c *Client) Query(ctx context.Context, q eventlog.Query) (eventlog.Page, error) {
	v := url.Values{}
	for _, a := range q.Actions {
		v.Add("action", a)
	}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("user", q.UserID)
	set("object_type", q.ObjectType)
	set("object_id", q.ObjectID)
	set("q", q.Text)
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	for _, w := range q.Where {
		v.Add("where", w.String())
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.After != nil {
		v.Set("cursor", q.After.String())
	}
	var body struct {
		Events     []eventlog.Event `json:"events"`
		NextCursor *string          `json:"next_cursor"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/events", v, nil, http.StatusOK, &body); err != nil {
		return eventlog.Page{}, err
	}
	page := eventlog.Page{Events: body.Events}
	if body.NextCursor != nil {
		cur, err := eventlog.ParseCursor(*body.NextCursor)
		if err != nil {
			return eventlog.Page{}, fmt.Errorf("eventlog server sent a bad cursor: %w", err)
		}
		page.Next = cur
	}
	return page, nil
}

// Actions returns every action with its count, most frequent first.
func (c *Client) Actions(ctx context.Context) ([]eventlog.ActionCount, error) {
	var body struct {
		Actions []eventlog.ActionCount `json:"actions"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/actions", nil, nil, http.StatusOK, &body)
	return body.Actions, err
}

// Stats returns pinax-eventlog's four figures as of now on the server.
func (c *Client) Stats(ctx context.Context) (eventlog.Stats, error) {
	var st eventlog.Stats
	err := c.do(ctx, http.MethodGet, "/api/v1/stats", nil, nil, http.StatusOK, &st)
	return st, err
}

// Series returns event counts per bucket, empty buckets included.
func (c *Client) Series(ctx context.Context, q eventlog.SeriesQuery) ([]eventlog.Bucket, error) {
	v := url.Values{}
	if q.Interval != "" {
		v.Set("interval", string(q.Interval))
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	for _, a := range q.Actions {
		v.Add("action", a)
	}
	var body struct {
		Buckets []eventlog.Bucket `json:"buckets"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/series", v, nil, http.StatusOK, &body)
	return body.Buckets, err
}

// Ping reports whether the server and its database are ready (/readyz).
func (c *Client) Ping(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/readyz", nil, nil, http.StatusOK, nil)
}

func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, want int, out any) error {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("eventlog server: reading the response: %w", err)
	}
	if resp.StatusCode != want {
		return decodeError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("eventlog server: decoding the response: %w", err)
	}
	return nil
}

func decodeError(status int, data []byte) error {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
			Index   *int   `json:"index"`
		} `json:"error"`
	}
	e := &Error{Status: status, Index: -1}
	if json.Unmarshal(data, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message, e.Field = body.Error.Code, body.Error.Message, body.Error.Field
		if body.Error.Index != nil {
			e.Index = *body.Error.Index
		}
		return e
	}
	e.Code = "http_" + strconv.Itoa(status)
	e.Message = strings.TrimSpace(string(data))
	if len(e.Message) > 200 {
		e.Message = e.Message[:200]
	}
	return e
}

var errRemote = errors.New("not available through the HTTP API")
