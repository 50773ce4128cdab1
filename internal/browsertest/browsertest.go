// Package browsertest runs tests against a real headless Chromium through
// chromedp.
//
// A test starts one browser tab with New, drives it with Run (or Get for an
// action that returns a value), and reads the JavaScript dialogs that the page
// opened with Dialogs:
//
//	b := browsertest.New(t)
//	b.Run(t,
//		chromedp.Navigate(srv.URL+"/admin/login"),
//		chromedp.SendKeys(chromedp.CSS(`input[name=token]`), token),
//		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
//		chromedp.WaitVisible(chromedp.CSS(`h1`)),
//	)
//	title := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`h1`)))
//
// The browser is Debian's chromium at /usr/bin/chromium, or the binary named
// by $CHROMIUM. When the binary is missing the test is skipped, unless the
// environment variable CI is set: in CI a missing browser fails the test.
//
// When an action fails, Run and Get save a screenshot of the page and put its
// path in the failure message. Screenshots go to $ARTIFACTS_DIR when it is
// set (so that CI can keep them), else to the test's temporary directory,
// which the testing package removes when the test ends.
package browsertest

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// DefaultPath is the browser binary used when $CHROMIUM is unset.
const DefaultPath = "/usr/bin/chromium"

// startAttempts is how many times New tries to start the browser.
const startAttempts = 3

// DefaultTimeout bounds one call of Run or Get.
const DefaultTimeout = 30 * time.Second

// Browser is one headless Chromium process with one tab. It is not safe for
// concurrent use: the actions of one tab run in order.
type Browser struct {
	// Timeout bounds one call of Run or Get; DefaultTimeout when zero.
	Timeout time.Duration

	ctx    context.Context
	output *syncBuffer

	mu      sync.Mutex
	dialogs []string
}

// New starts a headless Chromium with a fresh profile under t.TempDir() and
// opens one tab. The browser stops when the test ends. It skips the test when
// the binary is missing and CI is unset, and fails it when CI is set.
func New(t testing.TB) *Browser {
	t.Helper()
	path := cmp.Or(os.Getenv("CHROMIUM"), DefaultPath)
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("browsertest: no chromium at %s (install Debian's chromium or set CHROMIUM; with CI set this fails instead): %v", path, err)
		}
		t.Fatalf("browsertest: no chromium at %s and CI is set: %v", path, err)
	}

	// A start can fail on a loaded machine (the browser does not bring up
	// its DevTools endpoint in time): try again with a fresh profile before
	// failing the test.
	var b *Browser
	var ctx context.Context
	var cancelTab, cancelAlloc context.CancelFunc
	for attempt := 1; ; attempt++ {
		b = &Browser{output: &syncBuffer{}}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("disable-quic", true),
			chromedp.NoFirstRun,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
			chromedp.WindowSize(1280, 900),
			chromedp.CombinedOutput(b.output),
		)
		var allocCtx context.Context
		allocCtx, cancelAlloc = chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelTab = chromedp.NewContext(allocCtx)
		b.ctx = ctx
		// The first action starts the browser; it must run on a context
		// without a deadline, because that context's lifetime is the
		// browser's.
		err := chromedp.Do(ctx, chromedp.Navigate("about:blank"))
		if err == nil {
			break
		}
		cancelTab()
		cancelAlloc()
		if attempt == startAttempts {
			t.Fatalf("browsertest: start %s (%d attempts): %v\nbrowser output:\n%s", path, attempt, err, b.output.String())
		}
		t.Logf("browsertest: start %s failed, trying again: %v", path, err)
	}

	// Dialogs (alert, confirm, prompt) block the page until answered, so they
	// are recorded and dismissed at once.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	var wg sync.WaitGroup
	wg.Go(func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, fmt.Sprintf("%s: %s", ev.Type, ev.Message))
			b.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})

	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		wg.Wait()
	})
	return b
}

// Context returns the tab's chromedp context, for chromedp calls that Run and
// Get do not cover (chromedp.Events, chromedp.Call). Derive a timeout from
// it; never cancel it.
func (b *Browser) Context() context.Context { return b.ctx }

// Run runs the actions in order in the tab. On the first error it saves a
// screenshot and fails the test with the error and the screenshot's path.
func (b *Browser) Run(t testing.TB, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	Get(t, b, chromedp.Steps(actions...))
}

// Get runs one action in the browser's tab and returns its value, e.g.
// Get(t, b, chromedp.Text(chromedp.CSS("h1"))). On error it saves a
// screenshot and fails the test with the error and the screenshot's path.
func Get[T any](t testing.TB, b *Browser, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, cmp.Or(b.Timeout, DefaultTimeout))
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		shot := b.screenshot(t, "failure")
		t.Fatalf("browsertest: %v\nscreenshot: %s", err, shot)
	}
	return v
}

// Screenshot saves a PNG of the whole page as name.png and returns its path
// (under $ARTIFACTS_DIR when set, else under t.TempDir()). It fails the test
// when no screenshot can be taken.
func (b *Browser) Screenshot(t testing.TB, name string) string {
	t.Helper()
	path, err := b.saveScreenshot(t, name)
	if err != nil {
		t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	return path
}

// Dialogs returns the JavaScript dialogs (alert, confirm, prompt,
// beforeunload) that pages in this tab opened so far, as "type: message".
// Every dialog is dismissed as soon as it opens.
func (b *Browser) Dialogs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}

// screenshot is Screenshot for a failure path: it reports a failure to take
// the screenshot in the returned text instead of failing again.
func (b *Browser) screenshot(t testing.TB, name string) string {
	path, err := b.saveScreenshot(t, name)
	if err != nil {
		return fmt.Sprintf("(none: %v)", err)
	}
	return path
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (b *Browser) saveScreenshot(t testing.TB, name string) (string, error) {
	// A fresh context: the failing action's context may have expired.
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", fmt.Errorf("capture: %w", err)
	}
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("artifacts dir: %w", err)
	}
	file := unsafeName.ReplaceAllString(t.Name()+"-"+name, "_") + ".png"
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	return path, nil
}

// syncBuffer collects the browser's output for a start-up failure message.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf.Len() > 64<<10 {
		return len(p), nil // keep the start of the output, drop the rest
	}
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
