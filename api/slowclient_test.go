package api_test

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSlowClientsAreCut: a client that never finishes its headers, or
// trickles its body, is disconnected after the server's timeouts instead
// of holding a connection and a goroutine forever.
func TestSlowClientsAreCut(t *testing.T) {
	t.Parallel()
	b := setup(t, openSQLite(t), setupOpts{timeouts: 300 * time.Millisecond})
	addr := strings.TrimPrefix(b.url, "http://")
	for _, c := range []struct{ name, send string }{
		{"headers never end", "POST /api/v1/events HTTP/1.1\r\nHost: x\r\n"},
		{"body trickles", "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b.write + "\r\nContent-Length: 1000\r\n\r\n{\"action\":"},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, c.send); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadAll(conn) // returns when the server closes
		conn.Close()
		if d := time.Since(start); err != nil || d > 3*time.Second {
			t.Errorf("%s: the server held the connection %v (read error %v)", c.name, d, err)
		}
	}
}
