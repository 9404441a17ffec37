package api

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"
)

type sqlStateErr string

func (e sqlStateErr) Error() string    { return "pg error " + string(e) }
func (e sqlStateErr) SQLState() string { return string(e) }

func TestClassifyDatabaseUnavailableAs503(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("insert: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), http.StatusServiceUnavailable},
		{fmt.Errorf("insert: %w", driver.ErrBadConn), http.StatusServiceUnavailable},
		{fmt.Errorf("insert: %w", sqlStateErr("57P01")), http.StatusServiceUnavailable},  // admin_shutdown
		{fmt.Errorf("insert: %w", sqlStateErr("08006")), http.StatusServiceUnavailable},  // connection_failure
		{fmt.Errorf("insert: %w", sqlStateErr("23505")), http.StatusInternalServerError}, // unique_violation: a bug, not an outage
		{errors.New("something else"), http.StatusInternalServerError},
	} {
		status, body := classify(tc.err)
		if status != tc.want {
			t.Errorf("classify(%v) = %d %+v, want %d", tc.err, status, body, tc.want)
		}
	}
}
