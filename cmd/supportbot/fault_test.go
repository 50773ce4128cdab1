package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot/sqlite"
)

// TestDiskFull: when the database cannot grow, the intake answers 503 with
// Retry-After and never 202; when space returns it accepts again.
func TestDiskFull(t *testing.T) {
	rc := newReceiver(t)
	cfg := testConfig(t, rc.URL)
	m := NewMain(cfg, discardLogger())
	m.StoreOptions = func(s *sqlite.Store) { s.MaxPageCount = 100 } // room for the schema; 500 events of 3 KB do not fit
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	url := m.Server.URL() + "/hooks/chat"
	big := strings.Repeat("x", 3000)
	var full bool
	for i := 0; i < 500 && !full; i++ {
		req, err := signedRequest(url, "msg_full_"+strconv.Itoa(i), nativeEvent("full-"+strconv.Itoa(i), big))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusAccepted:
		case http.StatusServiceUnavailable:
			if resp.Header.Get("Retry-After") == "" {
				t.Fatalf("503 without Retry-After: %s", body)
			}
			full = true
		default:
			t.Fatalf("status %d while filling the disk: %s", resp.StatusCode, body)
		}
	}
	if !full {
		t.Fatal("the database never filled up")
	}
	if err := m.Store.SetMaxPageCount(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	status, body := post(t, url, "msg_after_full", nativeEvent("after-full", "How do I reset my password?"), nil)
	if status != http.StatusAccepted {
		t.Fatalf("after space returned: %d %v", status, body)
	}
}

// TestCorruptDatabase: a file that is not a database stops start-up with a
// clear error, and the file is left as it was.
func TestCorruptDatabase(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "127.0.0.1:0", "http://127.0.0.1:9/replies")
	db := filepath.Join(dir, "data", "supportbot.db")
	if err := os.MkdirAll(filepath.Dir(db), 0o750); err != nil {
		t.Fatal(err)
	}
	junk := bytes.Repeat([]byte("not a database "), 1000)
	if err := os.WriteFile(db, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--config", cfgPath}, nil, io.Discard, &stderr)
	if code == 0 {
		t.Fatal("serve started on a corrupt database")
	}
	if !strings.Contains(stderr.String(), "open store") || !strings.Contains(stderr.String(), "not a database") {
		t.Fatalf("error does not explain: %q", stderr.String())
	}
	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, junk) {
		t.Fatal("start-up modified the corrupt database")
	}
}

// TestSecretsNeverLogged runs a whole flow with debug logging and scans the
// output for every configured secret.
func TestSecretsNeverLogged(t *testing.T) {
	rc := newReceiver(t)
	cfg := testConfig(t, rc.URL)
	cfg.Slack.SigningSecret = "slack-signing-secret-value"
	cfg.LLM.APIKey = "sk-test-api-key-value"
	var logs bytes.Buffer
	var mu syncWriter
	mu.w = &logs
	m := NewMain(cfg, slog.New(slog.NewJSONHandler(&mu, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if err := m.FAQ.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	url := m.Server.URL() + "/hooks/chat"
	post(t, url, "msg_s1", nativeEvent("s1", "How do I reset my password?"), nil)
	post(t, url, "msg_s2", nativeEvent("s2", "I want a human"), nil)
	post(t, url, "msg_s3", nativeEvent("s3", "bad"), func(r *http.Request) { r.Header.Set("webhook-signature", "v1,"+testSecret) })
	rc.next(t)
	rc.next(t)
	_ = m.Close()
	out := mu.String()
	if !strings.Contains(out, "decided") {
		t.Fatalf("log looks empty: %q", out)
	}
	for _, secret := range []string{testSecret, testOutSecret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", cfg.Slack.SigningSecret, cfg.LLM.APIKey} {
		if strings.Contains(out, secret) {
			t.Fatalf("log contains secret %q", secret)
		}
	}
}
