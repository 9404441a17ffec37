package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/api"
	"github.com/eventlog/eventlog/auth"
)

// TestTLS serves HTTPS with a certificate and key from files, as
// `serve --tls-cert --tls-key` does.
func TestTLS(t *testing.T) {
	t.Parallel()
	store := openSQLite(t)
	logger, err := eventlog.New(store, &eventlog.Config{ErrorLog: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(&api.Config{Logger: logger, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, pool := selfSigned(t)
	if _, err := api.NewServer(h, &api.ServerConfig{TLSCertFile: certFile}); err == nil {
		t.Error("NewServer accepted a certificate without a key")
	}
	srv, err := api.NewServer(h, &api.ServerConfig{TLSCertFile: certFile, TLSKeyFile: keyFile, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		logger.Close()
		store.Close()
	})
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Post("https://"+ln.Addr().String()+"/api/v1/events", "application/json", strings.NewReader(`{"action":"OVER_TLS"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.TLS == nil || !strings.Contains(string(body), "OVER_TLS") {
		t.Fatalf("POST over TLS: %d %s", resp.StatusCode, body)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key to files.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "eventlog test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestNoTokensRefusesRemoteClients: with no token in the database, a
// client that is not on loopback gets 401.
func TestNoTokensRefusesRemoteClients(t *testing.T) {
	t.Parallel()
	store := openSQLite(t)
	logger, err := eventlog.New(store, &eventlog.Config{ErrorLog: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logger.Close(); store.Close() })
	tokens, err := auth.New(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(&api.Config{Logger: logger, Tokens: tokens, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		remote string
		status int
	}{{"192.0.2.7:5000", 401}, {"[2001:db8::1]:5000", 401}, {"127.0.0.1:5000", 200}, {"[::1]:5000", 200}} {
		req := httptest.NewRequest("GET", "/api/v1/actions", nil)
		req.RemoteAddr = c.remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Errorf("GET from %s with no tokens: %d %s, want %d", c.remote, rec.Code, rec.Body, c.status)
		}
		if c.status == 401 && !strings.Contains(rec.Body.String(), "loopback") {
			t.Errorf("401 for %s does not explain the loopback rule: %s", c.remote, rec.Body)
		}
	}
}
