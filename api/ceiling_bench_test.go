package api_test

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// BenchmarkPostCeiling is the HTTP layer alone, for comparison with
// BenchmarkPostSingle: the same 64 in-process clients and body against a
// bare net/http server that reads the body and answers 201 with a small
// JSON body, storing nothing. No API handler can be faster than this on
// the same machine.
func BenchmarkPostCeiling(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	reply := []byte(`{"id":"0193a6b2-7c3d-7e4f-8a9b-0123456789ab","timestamp":"2026-11-27T10:58:39.123456Z","action":"PAGE_VIEWED","user":{"id":"42","name":"alice"},"object":{"type":"page","id":"/pricing"},"extra":{"ref":"newsletter","ms":123}}`)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(reply)
	})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	postSingles(b, "http://"+ln.Addr().String(), "unused", nil)
}
