package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServerConfig configures a Server. A nil *ServerConfig means all
// defaults.
type ServerConfig struct {
	// TLSCertFile and TLSKeyFile, both set, serve HTTPS.
	TLSCertFile, TLSKeyFile string
	// ReadHeaderTimeout bounds reading request headers. Defaults to 5s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	// Defaults to 60s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response; streams lift it for
	// themselves. Defaults to 60s.
	WriteTimeout time.Duration
	// IdleTimeout bounds an idle keep-alive connection. Defaults to 120s.
	IdleTimeout time.Duration
	// ShutdownTimeout bounds Shutdown when its context has no earlier
	// deadline. Defaults to 10s.
	ShutdownTimeout time.Duration
	// Log receives server errors. Defaults to slog.Default().
	Log *slog.Logger
}

// Server runs a Handler over HTTP or HTTPS with production timeouts and
// graceful shutdown.
type Server struct {
	handler  *Handler
	srv      *http.Server
	cert     string
	key      string
	shutdown time.Duration
}

// NewServer returns a Server for h.
func NewServer(h *Handler, cfg *ServerConfig) (*Server, error) {
	if h == nil {
		return nil, errors.New("api.NewServer: handler is nil")
	}
	if cfg == nil {
		cfg = &ServerConfig{}
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, errors.New("api.NewServer: TLSCertFile and TLSKeyFile must be given together")
	}
	def := func(d, v time.Duration) time.Duration {
		if d == 0 {
			return v
		}
		return d
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	s := &Server{
		handler: h,
		cert:    cfg.TLSCertFile,
		key:     cfg.TLSKeyFile,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: def(cfg.ReadHeaderTimeout, 5*time.Second),
			ReadTimeout:       def(cfg.ReadTimeout, 60*time.Second),
			WriteTimeout:      def(cfg.WriteTimeout, 60*time.Second),
			IdleTimeout:       def(cfg.IdleTimeout, 120*time.Second),
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		shutdown: def(cfg.ShutdownTimeout, 10*time.Second),
	}
	// Streams never go idle, so Shutdown must end them itself.
	s.srv.RegisterOnShutdown(h.CloseStreams)
	return s, nil
}

// Serve accepts connections on ln until Shutdown. It returns nil after a
// graceful Shutdown and the error otherwise.
func (s *Server) Serve(ln net.Listener) error {
	var err error
	if s.cert != "" {
		err = s.srv.ServeTLS(ln, s.cert, s.key)
	} else {
		err = s.srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections, ends the streams and waits for
// in-flight requests to finish, for at most ShutdownTimeout or until ctx
// is done; then it closes what is left. It does not close the Logger:
// the caller does that afterwards so every accepted event is flushed.
func (s *Server) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.shutdown)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return err
}
