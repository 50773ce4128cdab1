package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var killCycles = flag.Int("kill-cycles", 2, "SIGKILL cycles in TestKillUnderLoad (use 5+ for the long form)")

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// mustBuild builds the supportbot binary once per test run.
func mustBuild(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "supportbot-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "supportbot")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func writeConfig(t *testing.T, dir, addr, replyURL string) string {
	t.Helper()
	kb, err := filepath.Abs(filepath.Join("..", "..", "faq", "kb"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`server:
  addr: %q
  shutdown_timeout: "5s"
storage:
  path: %q
faq:
  path: %q
outbound:
  allow_private_networks: true
workers:
  backoff_base: "20ms"
  backoff_max: "200ms"
log:
  level: "warn"
triggers:
  - name: chat
    kind: standard
    secret: %q
    burst: "0s"
    reply:
      kind: webhook
      url: %q
      secret: %q
`, addr, filepath.Join(dir, "data", "supportbot.db"), kb, testSecret, replyURL, testOutSecret)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startServe(t *testing.T, bin, cfgPath, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("serve not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKillUnderLoad SIGKILLs the service while signed events pour in and
// restarts it on the same database: every acknowledged event is answered,
// and exactly once (one distinct reply id per conversation at the receiver).
func TestKillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	bin := mustBuild(t)
	rc := newReceiver(t)
	dir := t.TempDir()
	addr := freePort(t)
	cfgPath := writeConfig(t, dir, addr, rc.URL)
	url := "http://" + addr + "/hooks/chat"

	var mu sync.Mutex
	acked := map[string]bool{}
	var seq atomic.Int64
	questions := []string{"How do I reset my password?", "I want to talk to a human", "Where is my invoice?", "zebra quantum"}
	client := &http.Client{Timeout: 5 * time.Second}
	load := func(ctx context.Context) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					n := seq.Add(1)
					conv := fmt.Sprintf("k-%d", n)
					body := nativeEvent(conv, questions[n%int64(len(questions))])
					status, err := postWith(client, url, fmt.Sprintf("msg_%d", n), body)
					if err == nil && status == http.StatusAccepted {
						mu.Lock()
						acked[conv] = true
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
	}
	for cycle := range *killCycles {
		cmd := startServe(t, bin, cfgPath, addr)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { load(ctx); close(done) }()
		time.Sleep(time.Duration(200+cycle*73) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		cancel()
		<-done
	}
	cmd := startServe(t, bin, cfgPath, addr)
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	mu.Lock()
	want := len(acked)
	mu.Unlock()
	if want == 0 {
		t.Fatal("no event was acknowledged")
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		rc.mu.Lock()
		answered := map[string]int{}
		for _, ev := range rc.order {
			answered[ev.Conversation.ID]++
		}
		rc.mu.Unlock()
		missing := 0
		for conv := range acked {
			if answered[conv] == 0 {
				missing++
			}
		}
		for conv, n := range answered {
			if n != 1 {
				t.Fatalf("conversation %s got %d distinct replies, want 1", conv, n)
			}
		}
		if missing == 0 {
			t.Logf("%d acknowledged events over %d kill cycles, all answered exactly once", want, *killCycles)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events never answered", missing, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func postWith(client *http.Client, url, id string, body []byte) (int, error) {
	req, err := signedRequest(url, id, body)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
