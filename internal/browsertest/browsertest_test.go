package browsertest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/supportbot/supportbot/internal/browsertest"
)

func page(body string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}))
	return srv
}

func TestBrowserReadsPageAndRecordsDialogs(t *testing.T) {
	srv := page(`<!doctype html><title>t</title><h1 id="h">hello</h1><button id="b" onclick="alert('boom')">go</button>`)
	t.Cleanup(srv.Close)
	b := browsertest.New(t)

	b.Run(t, chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.ID("h")))
	if got, want := browsertest.Get(t, b, chromedp.Text(chromedp.ID("h"))), "hello"; got != want {
		t.Fatalf("Text(#h)=%q, want %q", got, want)
	}
	if got := b.Dialogs(); len(got) != 0 {
		t.Fatalf("Dialogs() before click=%q, want none", got)
	}

	// The alert blocks the click's mouse event until the recorder has
	// recorded and dismissed it, so the dialog is listed once Run returns.
	b.Run(t, chromedp.Click(chromedp.ID("b")))
	if got, want := b.Dialogs(), []string{"alert: boom"}; len(got) != 1 || got[0] != want[0] {
		t.Fatalf("Dialogs()=%q, want %q", got, want)
	}

	path := b.Screenshot(t, "page")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read screenshot: %v", err)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot %s is not a PNG (starts %q)", path, data[:min(8, len(data))])
	}
}

// fakeTB records Fatalf and Skipf and stops the calling goroutine, as the
// testing package does.
type fakeTB struct {
	testing.TB
	mu      sync.Mutex
	fatal   string
	skipped string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skipped = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// run calls fn on its own goroutine, so that Goexit ends only fn.
func run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

func TestFailedActionSavesScreenshot(t *testing.T) {
	srv := page(`<!doctype html><h1>present</h1>`)
	t.Cleanup(srv.Close)
	b := browsertest.New(t)
	b.Timeout = 2 * time.Second
	b.Run(t, chromedp.Navigate(srv.URL))

	artifacts := t.TempDir()
	t.Setenv("ARTIFACTS_DIR", artifacts)
	ft := &fakeTB{TB: t}
	run(func() { b.Run(ft, chromedp.WaitVisible(chromedp.CSS("#missing"))) })

	if ft.fatal == "" {
		t.Fatal("Run on a missing element did not fail the test")
	}
	_, path, ok := strings.Cut(ft.fatal, "screenshot: ")
	if !ok || !strings.HasPrefix(path, artifacts) || !strings.HasSuffix(path, ".png") {
		t.Fatalf("failure message %q does not name a PNG under %s", ft.fatal, artifacts)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("screenshot named in the failure: %v", err)
	}
}

func TestMissingBrowser(t *testing.T) {
	t.Setenv("CHROMIUM", "/nonexistent/chromium")

	t.Run("skips without CI", func(t *testing.T) {
		t.Setenv("CI", "")
		os.Unsetenv("CI")
		ft := &fakeTB{TB: t}
		run(func() { browsertest.New(ft) })
		if ft.skipped == "" || ft.fatal != "" {
			t.Fatalf("skipped=%q fatal=%q, want a skip only", ft.skipped, ft.fatal)
		}
		if !strings.Contains(ft.skipped, "/nonexistent/chromium") {
			t.Fatalf("skip message %q does not name the binary", ft.skipped)
		}
	})
	t.Run("fails in CI", func(t *testing.T) {
		t.Setenv("CI", "true")
		ft := &fakeTB{TB: t}
		run(func() { browsertest.New(ft) })
		if ft.fatal == "" || ft.skipped != "" {
			t.Fatalf("skipped=%q fatal=%q, want a failure only", ft.skipped, ft.fatal)
		}
	})
}
