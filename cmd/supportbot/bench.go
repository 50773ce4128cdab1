package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/standard"
)

// benchOptions drive one load run.
type benchOptions struct {
	Concurrency int
	Events      int
	Rate        int // events per second; 0: as fast as the senders go
	FAQPath     string
	Burst       time.Duration
	CPUProfile  string
	// IntakeOnly holds the workers until every event is acknowledged, so
	// the acknowledgement rate is measured on its own; processing follows.
	IntakeOnly bool
}

// benchResult is one side of a run (baseline or service).
type benchResult struct {
	Name     string
	Sent     int
	Accepted int
	Errors   int
	Elapsed  time.Duration
	PerSec   float64
	P50, P99 time.Duration
	P999     time.Duration
	// CPU is the process's CPU time (user and system, both sides of the
	// loopback) during the run.
	CPU time.Duration
}

func (c *cli) benchCmd() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure durable intake against a no-op baseline on loopback",
		Long: `bench starts two servers on loopback in this process: a no-op baseline that
only verifies each Standard Webhooks signature and answers 202, and the real
service on a temporary database with a reply receiver. It posts the same
signed events to both at a fixed concurrency (and optionally a fixed rate) and
prints acknowledged events per second, ack latency percentiles, errors, the
time until every accepted event was answered, and the ratio to the baseline.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), o, c.stdout)
		},
	}
	cmd.Flags().IntVar(&o.Concurrency, "concurrency", 32, "concurrent senders")
	cmd.Flags().IntVar(&o.Events, "events", 20000, "events per side")
	cmd.Flags().IntVar(&o.Rate, "rate", 0, "events per second (0: as fast as possible)")
	cmd.Flags().StringVar(&o.FAQPath, "faq", "faq/kb", "knowledge base for the service")
	cmd.Flags().DurationVar(&o.Burst, "burst", 0, "burst window of the service's trigger")
	cmd.Flags().BoolVar(&o.IntakeOnly, "intake-only", false, "hold the workers until all events are acknowledged, then process")
	cmd.Flags().StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the service side to this file (with --intake-only: of the intake alone)")
	return cmd
}

const benchSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func runBench(ctx context.Context, o benchOptions, w io.Writer) error {
	if o.Concurrency < 1 || o.Events < 1 {
		return &usageError{fmt.Errorf("--concurrency and --events must be positive")}
	}
	tc := triggers.Config{Name: "bench", Kind: "standard", Secret: benchSecret, Reply: triggers.ReplyConfig{Kind: "webhook"}}
	verifier, err := standard.New(tc)
	if err != nil {
		return err
	}
	// Baseline: verify and answer, nothing stored.
	base := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, 1<<20))
		if err != nil {
			http.Error(rw, "read", http.StatusBadRequest)
			return
		}
		if err := verifier.Verify(r, body); err != nil {
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusAccepted)
		_, _ = rw.Write([]byte(`{"id":"noop","duplicate":false}`))
	})}
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = base.Serve(bl) }()
	defer base.Close()

	// Reply receiver: counts distinct replies and measures, per event, the
	// time from its acknowledgement to its reply.
	var replies sync.Map
	// ackedAt and repliedAt: when each service-side event was acknowledged
	// and when its first reply arrived, by conversation id (one event per
	// conversation). Paired up after the run: a reply can arrive before its
	// sender has read the acknowledgement.
	var ackedAt, repliedAt sync.Map
	var answered atomic.Int64
	allAnswered := make(chan struct{})
	var closeOnce sync.Once
	var target atomic.Int64
	target.Store(-1)
	recv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if _, dup := replies.LoadOrStore(r.Header.Get("webhook-id"), true); !dup {
			var rb struct {
				Conversation struct{ ID string } `json:"conversation"`
			}
			if json.Unmarshal(body, &rb) == nil {
				repliedAt.LoadOrStore(rb.Conversation.ID, time.Now())
			}
			if n := answered.Add(1); n == target.Load() {
				closeOnce.Do(func() { close(allAnswered) })
			}
		}
		rw.WriteHeader(http.StatusNoContent)
	})}
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = recv.Serve(rl) }()
	defer recv.Close()

	dir, err := os.MkdirTemp("", "supportbot-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := LoadConfig("", false)
	if err != nil {
		return err
	}
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Storage.Path = filepath.Join(dir, "bench.db")
	cfg.FAQ.Path = o.FAQPath
	cfg.Outbound.AllowPrivateNetworks = true
	burst := o.Burst
	tc.Burst = &burst
	tc.Reply.URL = "http://" + rl.Addr().String() + "/replies"
	tc.Reply.Secret = benchSecret
	cfg.Triggers = []triggers.Config{tc}
	m := NewMain(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.DeferWorkers = o.IntakeOnly
	if err := m.Open(ctx); err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			_ = m.Close()
		}
	}()
	if err := m.FAQ.WaitReady(ctx); err != nil {
		return err
	}

	mode := "workers running"
	if o.IntakeOnly {
		mode = "workers held until all are acknowledged"
	}
	fmt.Fprintf(w, "supportbot bench: %d events per side, concurrency %d, rate %s, %s, %s, GOMAXPROCS %d\n",
		o.Events, o.Concurrency, rateString(o.Rate), mode, runtime.Version(), runtime.GOMAXPROCS(0))
	baseURL := "http://" + bl.Addr().String() + "/hooks/bench"
	baseRes := drive(ctx, "no-op baseline", baseURL, o, "base", nil)
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	b0, w0 := m.Store.CommitStats()
	svcRes := drive(ctx, "supportbot", m.Server.URL()+"/hooks/bench", o, "svc", &ackedAt)
	b1, w1 := m.Store.CommitStats()
	// The baseline runs again after the service, so that a machine that
	// sped up or slowed down during the run shows as two different
	// baselines instead of skewing the ratio unseen.
	var baseAfter benchResult
	if o.IntakeOnly {
		// The profile covers the intake on its own.
		pprof.StopCPUProfile()
		baseAfter = drive(ctx, "no-op again", baseURL, o, "base2", nil)
		if err := m.StartWorkers(); err != nil {
			return err
		}
	}
	target.Store(int64(svcRes.Accepted))
	if answered.Load() >= int64(svcRes.Accepted) {
		closeOnce.Do(func() { close(allAnswered) })
	}
	var drain time.Duration
	select {
	case <-allAnswered:
		drain = time.Since(start)
	case <-time.After(5 * time.Minute):
		drain = -1
	case <-ctx.Done():
		return ctx.Err()
	}
	if !o.IntakeOnly {
		baseAfter = drive(ctx, "no-op again", baseURL, o, "base2", nil)
	}
	procs := runtime.GOMAXPROCS(0)
	for _, r := range []benchResult{baseRes, svcRes, baseAfter} {
		fmt.Fprintf(w, "%-15s accepted %6d/%d  errors %d  %8.0f events/s  p50 %s  p99 %s  p99.9 %s  CPU %s/event (%.0f%% of %d)\n",
			r.Name, r.Accepted, r.Sent, r.Errors, r.PerSec, round(r.P50), round(r.P99), round(r.P999),
			round(r.CPU/time.Duration(max(r.Sent, 1))), 100*r.CPU.Seconds()/r.Elapsed.Seconds()/float64(procs), procs)
	}
	baseline := (baseRes.PerSec + baseAfter.PerSec) / 2
	fmt.Fprintf(w, "ratio supportbot/baseline: %.2f (to the baseline before %.2f, after %.2f)\n",
		svcRes.PerSec/baseline, svcRes.PerSec/baseRes.PerSec, svcRes.PerSec/baseAfter.PerSec)
	if b1 > b0 {
		fmt.Fprintf(w, "group commit during the run: %d commits, %.1f writes each\n", b1-b0, float64(w1-w0)/float64(b1-b0))
	}
	var e2e []time.Duration
	ackedAt.Range(func(conv, at any) bool {
		if rt, ok := repliedAt.Load(conv); ok {
			e2e = append(e2e, max(0, rt.(time.Time).Sub(at.(time.Time))))
		}
		return true
	})
	slices.Sort(e2e)
	fmt.Fprintf(w, "ack to reply delivered: p50 %s  p99 %s  p99.9 %s  (%d replies)\n",
		round(pct(e2e, 0.5)), round(pct(e2e, 0.99)), round(pct(e2e, 0.999)), len(e2e))
	if drain < 0 {
		fmt.Fprintf(w, "answered: %d of %d within 5m\n", answered.Load(), svcRes.Accepted)
	} else {
		fmt.Fprintf(w, "every accepted event answered %s after the first was sent (%d distinct replies)\n", round(drain), answered.Load())
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(w, "peak RSS %s; Go heap in use %d MiB\n", peakRSS(), ms.HeapInuse>>20)
	// Closing checkpoints the WAL into the database file, so its size is
	// the footprint of what the run stored: one conversation an event with
	// its message, decision, reply, transitions, jobs and audit row.
	closed = true
	if err := m.Close(); err != nil {
		return err
	}
	if fi, err := os.Stat(cfg.Storage.Path); err == nil && svcRes.Accepted > 0 {
		per := float64(fi.Size()) / float64(svcRes.Accepted)
		fmt.Fprintf(w, "database %.1f MiB for %d conversations: %.1f KiB a conversation, %.1f MiB per 1,000\n",
			float64(fi.Size())/(1<<20), svcRes.Accepted, per/1024, per*1000/(1<<20))
	}
	return nil
}

func rateString(r int) string {
	if r == 0 {
		return "unbounded"
	}
	return strconv.Itoa(r) + "/s"
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// processCPU is the CPU time the process has used so far, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS reads the process's high-water resident set from /proc.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// drive posts o.Events signed events to url and measures the acks; when
// acked is set it records each acknowledged conversation's ack time.
func drive(ctx context.Context, name, url string, o benchOptions, prefix string, acked *sync.Map) benchResult {
	tr := &http.Transport{MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	lat := make([]time.Duration, o.Events)
	ok := make([]bool, o.Events)
	var next atomic.Int64
	var tick <-chan time.Time
	if o.Rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(o.Rate))
		defer t.Stop()
		tick = t.C
	}
	start, cpu0 := time.Now(), processCPU()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= o.Events || ctx.Err() != nil {
					return
				}
				if tick != nil {
					select {
					case <-tick:
					case <-ctx.Done():
						return
					}
				}
				lat[i], ok[i] = postOne(ctx, client, url, prefix, i)
				if ok[i] && acked != nil {
					acked.Store(fmt.Sprintf("%s-c%d", prefix, i), time.Now())
				}
			}
		}()
	}
	wg.Wait()
	res := benchResult{Name: name, Sent: o.Events, Elapsed: time.Since(start), CPU: processCPU() - cpu0}
	var good []time.Duration
	for i := range lat {
		if ok[i] {
			res.Accepted++
			good = append(good, lat[i])
		} else {
			res.Errors++
		}
	}
	slices.Sort(good)
	res.PerSec = float64(res.Accepted) / res.Elapsed.Seconds()
	res.P50, res.P99, res.P999 = pct(good, 0.50), pct(good, 0.99), pct(good, 0.999)
	return res
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

func postOne(ctx context.Context, client *http.Client, url, prefix string, i int) (time.Duration, bool) {
	ev := map[string]any{
		"type":         "message.created",
		"conversation": map[string]string{"id": fmt.Sprintf("%s-c%d", prefix, i)},
		"customer":     map[string]string{"id": fmt.Sprintf("u%d", i), "name": "Load Test"},
		"message":      map[string]string{"id": fmt.Sprintf("m%d", i), "text": benchQuestions[i%len(benchQuestions)]},
	}
	body, _ := json.Marshal(ev)
	id := fmt.Sprintf("msg_%s_%d", prefix, i)
	now := time.Now()
	sig, err := standard.Sign(benchSecret, id, now, body)
	if err != nil {
		return 0, false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(t0), resp.StatusCode == http.StatusAccepted
}

var benchQuestions = []string{
	"How do I reset my password?",
	"Where can I download my invoice?",
	"Can I change my plan?",
	"I want to speak to a human",
	"What is the meaning of life?",
	"How do I enable two-factor authentication?",
}
