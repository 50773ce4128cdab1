package kbimport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot/deliver"
	"github.com/supportbot/supportbot/bot/kbimport"
)

func TestClientRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		statuses []int
		header   http.Header
		wantErr  string
		wantHits int32
	}{
		{name: "5xx retried until it works", statuses: []int{500, 502, 200}, wantHits: 3},
		{name: "5xx retried a few times only", statuses: []int{500, 500, 500, 500, 500, 500}, wantErr: "500", wantHits: 5},
		{name: "a 404 is not retried", statuses: []int{404}, wantErr: "404", wantHits: 1},
		{name: "a 429 asking too long a wait fails", statuses: []int{429}, header: http.Header{"Retry-After": {"600"}},
			wantErr: "longer than", wantHits: 1},
		{name: "a 403 names the credentials", statuses: []int{403}, wantErr: "check the token (and that its user may read", wantHits: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(hits.Add(1)) - 1
				status := tc.statuses[min(n, len(tc.statuses)-1)]
				for k, v := range tc.header {
					w.Header()[k] = v
				}
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"ok":true}`))
			}))
			defer srv.Close()
			var sl sleeps
			c := &kbimport.Client{HTTPClient: testClient(), BaseURL: srv.URL, Vendor: "acme", Check: "the token", SleepFunc: sl.sleep}
			var out struct{ OK bool }
			_, err := c.Get(context.Background(), "get", "/x", &out)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Get: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Get: %v, want an error with %q", err, tc.wantErr)
			}
			if got := hits.Load(); got != tc.wantHits {
				t.Fatalf("%d requests, want %d", got, tc.wantHits)
			}
		})
	}
}

func TestClientTotalWaitCapped(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	var sl sleeps
	c := &kbimport.Client{HTTPClient: testClient(), BaseURL: srv.URL, Vendor: "acme", SleepFunc: sl.sleep,
		MaxTotalWait: 3 * time.Minute}
	_, err := c.Get(context.Background(), "get", "/x", &struct{}{})
	if err == nil || !strings.Contains(err.Error(), "waited") {
		t.Fatalf("Get: %v, want the total wait cap", err)
	}
	if got := sl.all(); len(got) != 3 {
		t.Fatalf("waits %v, want three of 60s within the 3m cap", got)
	}
}

func TestClientRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a loopback help center was reached without allow_private_networks")
	}))
	defer srv.Close()
	c := &kbimport.Client{HTTPClient: deliver.NewHTTPClient(deliver.ClientOptions{}), BaseURL: srv.URL, Vendor: "acme",
		SleepFunc: (&sleeps{}).sleep}
	_, err := c.Get(context.Background(), "get", "/x", &struct{}{})
	if !errors.Is(err, deliver.ErrBlockedAddress) || !strings.Contains(err.Error(), "allow_private_networks") {
		t.Fatalf("Get: %v, want ErrBlockedAddress naming the setting", err)
	}
}

func TestClientNextLinkStaysOnHost(t *testing.T) {
	t.Parallel()
	c := &kbimport.Client{HTTPClient: testClient(), BaseURL: "https://acme.zendesk.com", Vendor: "zendesk"}
	_, err := c.Get(context.Background(), "list", "https://evil.example/api/v2/help_center/incremental/articles?start_time=1", &struct{}{})
	if err == nil || !strings.Contains(err.Error(), "leaves acme.zendesk.com") {
		t.Fatalf("Get to another host: %v", err)
	}
}

func TestClientRedactsSecrets(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"bad token s3cr3t-token"}`))
	}))
	defer srv.Close()
	c := &kbimport.Client{HTTPClient: testClient(), BaseURL: srv.URL, Vendor: "acme", Redact: []string{"s3cr3t-token"}}
	_, err := c.Get(context.Background(), "get", "/x", &struct{}{})
	if err == nil || strings.Contains(err.Error(), "s3cr3t-token") || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("Get: %v, want the secret redacted", err)
	}
}
