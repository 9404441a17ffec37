package eventlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// UnmarshalJSON reads the canonical form strictly: an unknown field, a
// wrong type or a bad timestamp is a *ValidationError naming the field.
// It does not apply defaults; call Normalize for that.
func (e *Event) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return invalid("event", "must be a JSON object")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return invalid("event", "is not valid JSON: %v", jsonErrText(err))
	}
	*e = Event{}
	for k, v := range fields {
		// encoding/json would quietly turn invalid UTF-8 into U+FFFD, so
		// the stored event would differ from the one sent.
		if !utf8.Valid(v) {
			switch k {
			case "id", "timestamp", "action", "user", "object", "extra", "context":
				return invalid(k, "must be valid UTF-8")
			}
		}
		isNull := bytes.Equal(v, []byte("null"))
		switch k {
		case "id":
			if !isNull {
				if err := json.Unmarshal(v, &e.ID); err != nil {
					return invalid("id", "must be a string")
				}
			}
		case "timestamp":
			if isNull {
				continue
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return invalid("timestamp", "must be an RFC 3339 string")
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return invalid("timestamp", "must be RFC 3339, like 2026-11-27T10:58:39.123456Z")
			}
			e.Timestamp = t
		case "action":
			if err := json.Unmarshal(v, &e.Action); err != nil || isNull {
				return invalid("action", "must be a string")
			}
		case "user":
			if isNull {
				continue
			}
			var u User
			if err := decodeStrict(v, &u); err != nil {
				return invalid("user", "must be an object {\"id\":string,\"name\":string}: %s", err)
			}
			e.User = &u
		case "object":
			if isNull {
				continue
			}
			var o Object
			if err := decodeStrict(v, &o); err != nil {
				return invalid("object", "must be an object {\"type\":string,\"id\":string}: %s", err)
			}
			e.Object = &o
		case "extra":
			e.Extra = append(json.RawMessage(nil), v...)
		case "context":
			if isNull {
				continue
			}
			var c RequestContext
			if err := decodeStrict(v, &c); err != nil {
				return invalid("context", "must be an object with ip, user_agent, request_id, trace_id, method, path: %s", err)
			}
			e.Context = &c
		case "":
			return invalid("event", "has a field with an empty name; the fields are id, timestamp, action, user, object, extra, context")
		default:
			return invalid(k, "is not a field of an event (id, timestamp, action, user, object, extra, context)")
		}
	}
	return nil
}

func decodeStrict(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s", jsonErrText(err))
	}
	return nil
}

func jsonErrText(err error) string {
	switch e := err.(type) {
	case *json.UnmarshalTypeError:
		if e.Field != "" {
			return fmt.Sprintf("%s must be %s, not %s", e.Field, e.Type, e.Value)
		}
		return fmt.Sprintf("must be %s, not %s", e.Type, e.Value)
	case *json.SyntaxError:
		return fmt.Sprintf("syntax error at byte %d: %s", e.Offset, e.Error())
	}
	return err.Error()
}

// ParseEvent decodes one event in canonical JSON form and normalizes it.
func ParseEvent(data []byte, now time.Time) (Event, error) {
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		if ve, ok := err.(*ValidationError); ok {
			return Event{}, ve
		}
		return Event{}, invalid("event", "is not valid JSON: %s", jsonErrText(err))
	}
	if err := e.Normalize(now); err != nil {
		return Event{}, err
	}
	return e, nil
}
