// Package server is supportbot's HTTP front: the webhook intake at
// /hooks/{trigger}, health and readiness probes, and the mount points for
// metrics, Slack and admin handlers. The intake verifies each request with
// its trigger, stores the event and its job in one transaction through the
// store, and only then answers 2xx.
package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

// Intake is the part of the store the server writes to.
type Intake interface {
	// Ingest stores the event and its process job durably; a redelivery
	// returns the first receipt with Duplicate set. It returns an error
	// wrapping bot.ErrStoreFull when the database cannot grow.
	Ingest(ctx context.Context, ev bot.Event, opt bot.IngestOptions) (bot.Receipt, error)
	// Audit records a request that was not ingested, without waiting.
	Audit(ctx context.Context, a bot.AuditEntry) error
}

// Observer receives one call per intake request (for metrics).
type Observer interface {
	ObserveHook(trigger string, status int, d time.Duration)
}

// Server is the HTTP server.
type Server struct {
	Addr     string
	Triggers *triggers.Set
	Intake   Intake
	// Ready reports whether the service can take traffic (store writable,
	// workers running); nil means always ready.
	Ready    func(ctx context.Context) error
	Observer Observer
	// MaxAttempts of process jobs (0: store default).
	MaxAttempts int
	// Version is reported by /healthz.
	Version string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (see ParseTrustedProxies); empty: the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// Bodies bounds the request bodies being read at once (zero: defaults).
	Bodies BodyLimits
	// Mounts adds handlers (metrics, Slack, admin) to the mux.
	Mounts map[string]http.Handler
	Now    func() time.Time
	Logger *slog.Logger

	ln       net.Listener
	srv      *http.Server
	wg       sync.WaitGroup
	inFlight bodies
	rejected rejections
	once     sync.Once
}

// Open listens on Addr and serves in the background.
func (s *Server) Open() error {
	s.init()
	s.Logger = s.Logger.With("component", "http")
	ln, err := net.Listen("tcp", cmp.Or(s.Addr, ":8080"))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("serve", "err", err)
		}
	}()
	return nil
}

// URL returns the server's base URL, with the port it listens on.
func (s *Server) URL() string {
	addr := s.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Close stops accepting requests and waits for those in flight (bounded by ctx).
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	s.wg.Wait()
	s.flushRejections(context.WithoutCancel(ctx))
	return err
}

// Hooks returns the intake alone, for a mount that screens the requests of
// a trigger before they reach it (the web chat's per-visitor limit). The
// request must carry the trigger's name as its "trigger" path value.
func (s *Server) Hooks() http.Handler { s.init(); return http.HandlerFunc(s.handleHook) }

func (s *Server) init() {
	s.once.Do(func() {
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.Logger == nil {
			s.Logger = slog.Default()
		}
		s.Bodies.fill()
	})
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	s.init()
	mux := http.NewServeMux()
	mux.HandleFunc("/hooks/{trigger}", s.handleHook)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /readyz", s.handleReady)
	for pattern, h := range s.Mounts {
		mux.Handle(pattern, h)
	}
	return forwardedFor(s.TrustedProxies, securityHeaders(s.bodyDeadline(mux)))
}

// bodyDeadline gives every request body (Slack, the dashboard, the admin
// API, chat sessions as well as webhooks) Bodies.Timeout to arrive, much
// less than the server's ReadTimeout: a client that stalls a body holds its
// connection and goroutine that long at most.
func (s *Server) bodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.Bodies.Timeout))
		}
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Version})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			s.Logger.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is the body of every error response.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}
