package mysqlstore

import (
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/eventlog/eventlog"
)

// eventColumns is the column list every event read selects, in the order
// scanEvent reads them.
const eventColumns = "id, ts, action, user_id, user_name, object_type, object_id, extra, context"

const (
	usPerHour = int64(time.Hour / time.Microsecond)
	usPerDay  = 24 * usPerHour
)

// key returns the 16-byte index key of a long text value (see
// migration/001_init.sql): the first half of its SHA-256.
func key(parts ...string) []byte {
	h := sha256.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return h.Sum(nil)[:16]
}

// floorDiv divides rounding toward negative infinity, so events before
// 1970 fall in the right hour and day.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

type rowScanner interface {
	Scan(dest ...any) error
}

func scanEvent(r rowScanner) (eventlog.Event, error) {
	var (
		e                                        eventlog.Event
		ts                                       int64
		userID, userName, objType, objID, evtCtx sql.NullString
		extra                                    string
	)
	if err := r.Scan(&e.ID, &ts, &e.Action, &userID, &userName, &objType, &objID, &extra, &evtCtx); err != nil {
		return eventlog.Event{}, err
	}
	e.Timestamp = time.UnixMicro(ts).UTC()
	if userID.Valid {
		e.User = &eventlog.User{ID: userID.String, Name: userName.String}
	}
	if objType.Valid {
		e.Object = &eventlog.Object{Type: objType.String, ID: objID.String}
	}
	e.Extra = json.RawMessage(extra)
	if evtCtx.Valid {
		var c eventlog.RequestContext
		if err := json.Unmarshal([]byte(evtCtx.String), &c); err != nil {
			return eventlog.Event{}, fmt.Errorf("event %s has a bad context column: %w", e.ID, err)
		}
		e.Context = &c
	}
	return e, nil
}

func scanEvents(rows *sql.Rows, capacity int) ([]eventlog.Event, error) {
	defer rows.Close()
	out := make([]eventlog.Event, 0, capacity)
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
