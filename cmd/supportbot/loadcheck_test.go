package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/triggers/standard"
)

// TestLoadHold is the availability check of docs/BENCHMARKS.md, run by hand
// against a running `supportbot serve` (see there for the config):
//
//	SUPPORTBOT_LOADCHECK_URL=http://127.0.0.1:8099 SUPPORTBOT_LOADCHECK_PID=$PID \
//	SUPPORTBOT_LOADCHECK_SECRET=whsec_... SUPPORTBOT_LOADCHECK_CLIENTS=1 \
//	  go test ./cmd/supportbot -run TestLoadHold -v -count=1
//
// Clients (loopback addresses 127.0.0.10, .11, ...) each open every chat
// stream and every stalled body the service allows them, then /healthz and
// a signed webhook to the trigger "desk" are timed, and the service's RSS
// and descriptors are read from /proc.
func TestLoadHold(t *testing.T) {
	base := os.Getenv("SUPPORTBOT_LOADCHECK_URL")
	if base == "" {
		t.Skip("SUPPORTBOT_LOADCHECK_URL not set: run by hand, see docs/BENCHMARKS.md")
	}
	pid := os.Getenv("SUPPORTBOT_LOADCHECK_PID")
	secret := os.Getenv("SUPPORTBOT_LOADCHECK_SECRET")
	clients, _ := strconv.Atoi(os.Getenv("SUPPORTBOT_LOADCHECK_CLIENTS"))
	clients = max(clients, 1)
	host := strings.TrimPrefix(base, "http://")
	fmt.Printf("before: rss %s, fds %d\n", rss(pid), fds(pid))
	hz, wh := measure(t, base, secret)
	fmt.Printf("idle: healthz p50 %s max %s; signed webhook p50 %s max %s\n", hz[len(hz)/2], hz[len(hz)-1], wh[len(wh)/2], wh[len(wh)-1])

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	streams, refusedStreams, bodies, refusedBodies := 0, map[int]int{}, 0, map[int]int{}
	for c := range clients {
		from := fmt.Sprintf("127.0.0.%d", 10+c)
		// Streams: sessions of this address, three streams each, until
		// the service refuses twice in a row.
		refused := 0
		for refused < 2 {
			sess, err := newLoadSession(base, from)
			if err != nil {
				fmt.Printf("%s: session: %v\n", from, err)
				break
			}
			for range 3 {
				conn, status := openRaw(host, from, "GET /chat/web/events?visitor="+sess.VisitorID+"&token="+sess.StreamToken+" HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n", true)
				if status == http.StatusOK {
					conns = append(conns, conn)
					streams++
					refused = 0
					continue
				}
				refusedStreams[status]++
				refused++
			}
		}
		// Bodies: stalled 64 KiB bodies with a bogus signature, all at
		// once (a body is held 10 s at most): twice what the address may
		// hold.
		const n = 64 << 10
		req := fmt.Sprintf("POST /hooks/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nWebhook-Id: m\r\nWebhook-Timestamp: 1\r\nWebhook-Signature: v1,bogus\r\nContent-Length: %d\r\n\r\n%s", n, bytes.Repeat([]byte("x"), n-100))
		type opened struct {
			conn   net.Conn
			status int
		}
		ch := make(chan opened)
		const tries = 128
		for range tries {
			go func() {
				conn, status := openRaw(host, from, req, false)
				ch <- opened{conn, status}
			}()
		}
		for range tries {
			o := <-ch
			if o.status == 0 {
				conns = append(conns, o.conn)
				bodies++
			} else {
				refusedBodies[o.status]++
			}
		}
	}
	fmt.Printf("held: %d streams (refused %v), %d stalled 64 KiB bodies taken for reading, each held 10 s at most (refused %v)\n", streams, refusedStreams, bodies, refusedBodies)
	hz, wh = measure(t, base, secret)
	fmt.Printf("under hold: healthz p50 %s max %s; signed webhook p50 %s max %s\n", hz[len(hz)/2], hz[len(hz)-1], wh[len(wh)/2], wh[len(wh)-1])
	fmt.Printf("under hold: rss %s, fds %d\n", rss(pid), fds(pid))
}

type loadSession struct {
	VisitorID   string `json:"visitor_id"`
	StreamToken string `json:"stream_token"`
}

func localClient(from string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext,
	}}
}

func newLoadSession(base, from string) (loadSession, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/chat/web/session", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	c := localClient(from)
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return loadSession{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return loadSession{}, fmt.Errorf("status %d", resp.StatusCode)
	}
	var s loadSession
	err = json.NewDecoder(resp.Body).Decode(&s)
	return s, err
}

// openRaw writes req on a new connection from address from. With
// waitHeaders it reads the response's status line and returns it; without,
// it waits briefly for a refusal and returns 0 when none came (the body is
// being held).
func openRaw(host, from, req string, waitHeaders bool) (net.Conn, int) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	conn, err := d.Dial("tcp", host)
	if err != nil {
		return nil, -1
	}
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, -1
	}
	wait := 5 * time.Second
	if !waitHeaders {
		wait = 2 * time.Second
	}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	_ = conn.SetReadDeadline(time.Time{})
	if err != nil {
		if waitHeaders {
			conn.Close()
			return nil, -1
		}
		return conn, 0
	}
	if resp.StatusCode != http.StatusOK {
		conn.Close()
	}
	return conn, resp.StatusCode
}

// measure times 50 GETs of /healthz and 50 signed webhooks to "desk",
// each sorted.
func measure(t *testing.T, base, secret string) (healthz, webhook []time.Duration) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	for i := range 50 {
		start := time.Now()
		resp, err := c.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		healthz = append(healthz, time.Since(start))

		body := []byte(fmt.Sprintf(`{"type":"message.created","conversation":{"id":"load-%d-%d"},"message":{"id":"m","text":"How do I reset my password?"}}`, time.Now().UnixNano(), i))
		id := fmt.Sprintf("msg_load_%d_%d", time.Now().UnixNano(), i)
		now := time.Now()
		sig, err := standard.Sign(secret, id, now, body)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/hooks/desk", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		start = time.Now()
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("signed webhook = %d", resp.StatusCode)
		}
		webhook = append(webhook, time.Since(start))
	}
	slices.Sort(healthz)
	slices.Sort(webhook)
	return healthz, webhook
}

func rss(pid string) string {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return "?"
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS") || strings.HasPrefix(l, "VmHWM") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(out, ", ")
}

func fds(pid string) int {
	ents, _ := os.ReadDir(filepath.Join("/proc", pid, "fd"))
	return len(ents)
}
