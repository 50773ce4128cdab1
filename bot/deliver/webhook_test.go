package deliver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/deliver"
)

const testSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"

// testNow is the fixed clock of the tests: webhook-timestamp is its unix time.
var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// request is what the receiver saw.
type request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

type testBundle struct {
	srv  *httptest.Server
	hook *deliver.Webhook
	// reqs receives every request to the receiver's /hook.
	reqs chan request
	// respond answers each request after it is recorded (nil: 204).
	respond http.HandlerFunc
}

// setup starts a loopback receiver and a Webhook that may reach it.
func setup(t *testing.T, respond http.HandlerFunc) *testBundle {
	t.Helper()
	b := &testBundle{reqs: make(chan request, 100), respond: respond}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request body: %v", err)
		}
		b.reqs <- request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
		if b.respond == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		b.respond(w, r)
	}))
	t.Cleanup(b.srv.Close)
	b.hook = mustWebhook(t, deliver.WebhookConfig{URL: b.srv.URL + "/hook", Secret: testSecret})
	return b
}

// mustWebhook builds a Webhook on a client that allows loopback, with the
// fixed test clock and a silent logger.
func mustWebhook(tb testing.TB, cfg deliver.WebhookConfig) *deliver.Webhook {
	tb.Helper()
	h, err := deliver.NewWebhook(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	client := deliver.NewHTTPClient(deliver.ClientOptions{AllowPrivateNetworks: true})
	tb.Cleanup(client.CloseIdleConnections)
	h.HTTPClient = client
	h.Now = func() time.Time { return testNow }
	h.Logger = slog.New(slog.DiscardHandler)
	return h
}

func (b *testBundle) next(t *testing.T) request {
	t.Helper()
	select {
	case r := <-b.reqs:
		return r
	default:
		t.Fatal("the receiver got no request")
	}
	return request{}
}

func botReply() bot.Reply {
	return bot.Reply{
		ID:              "rpl_0195f3c2-aaaa-7bbb-8ccc-000000000001",
		Trigger:         "chat",
		ConversationKey: "chat/c-42",
		ConversationID:  "c-42",
		Kind:            bot.ReplyAnswer,
		Author:          bot.AuthorBot,
		Text:            `Open <Settings> & choose "Reset password" → done`,
		State:           bot.StateBot,
		CreatedAt:       testNow,
	}
}

func TestDeliverRequest(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	r := botReply()
	if err := b.hook.Deliver(context.Background(), r); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := b.next(t)

	if got.Method != http.MethodPost || got.Path != "/hook" {
		t.Fatalf("request = %s %s, want POST /hook", got.Method, got.Path)
	}
	wantBody := `{"type":"reply.created","conversation":{"id":"c-42"},` +
		`"message":{"id":"rpl_0195f3c2-aaaa-7bbb-8ccc-000000000001","text":"Open <Settings> & choose \"Reset password\" → done","author":"bot"},` +
		`"state":"bot"}`
	if string(got.Body) != wantBody {
		t.Fatalf("body:\n got %s\nwant %s", got.Body, wantBody)
	}
	ts := strconv.FormatInt(testNow.Unix(), 10)
	for name, want := range map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        deliver.UserAgent,
		"webhook-id":        r.ID,
		"webhook-timestamp": ts,
		"Idempotency-Key":   r.ID,
		"Content-Length":    strconv.Itoa(len(wantBody)),
	} {
		if got := got.Header.Get(name); got != want {
			t.Errorf("header %s=%q, want %q", name, got, want)
		}
	}
	if !strings.HasPrefix(deliver.UserAgent, "supportbot/") {
		t.Errorf("UserAgent=%q, want supportbot/<version>", deliver.UserAgent)
	}
	sig := got.Header.Get("webhook-signature")
	if err := verifyStandard(testSecret, got.Header.Get("webhook-id"), got.Header.Get("webhook-timestamp"), got.Body, sig); err != nil {
		t.Fatalf("signature %q does not verify: %v", sig, err)
	}
	if want, _ := deliver.Sign(testSecret, r.ID, testNow, got.Body); sig != want {
		t.Fatalf("webhook-signature=%q, want Sign()=%q", sig, want)
	}
}

func TestDeliverAgentReply(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	r := botReply()
	r.Kind, r.Author, r.AgentName, r.State, r.Text = bot.ReplyAgent, bot.AuthorAgent, "Grace", bot.StateAgent, "Done, refund issued."
	if err := b.hook.Deliver(context.Background(), r); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := b.next(t)
	want := `{"type":"reply.created","conversation":{"id":"c-42"},` +
		`"message":{"id":"` + r.ID + `","text":"Done, refund issued.","author":"agent","agent":{"name":"Grace"}},` +
		`"state":"agent"}`
	if string(got.Body) != want {
		t.Fatalf("body:\n got %s\nwant %s", got.Body, want)
	}
	if err := verifyStandard(testSecret, got.Header.Get("webhook-id"), got.Header.Get("webhook-timestamp"), got.Body, got.Header.Get("webhook-signature")); err != nil {
		t.Fatal(err)
	}
}

func TestDeliverReplyOptions(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	r := botReply()
	r.Text, r.Options = "Did you mean: Where are my invoices, or How do I get a refund?", []string{"Where are my invoices?", "How do I get a refund?"}
	if err := b.hook.Deliver(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"reply.created","conversation":{"id":"c-42"},` +
		`"message":{"id":"` + r.ID + `","text":"` + r.Text + `","author":"bot","options":["Where are my invoices?","How do I get a refund?"]},` +
		`"state":"bot"}`
	if got := string(b.next(t).Body); got != want {
		t.Fatalf("body:\n got %s\nwant %s", got, want)
	}
}

func TestDeliverBotReplyIgnoresAgentName(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	r := botReply()
	r.Author, r.AgentName = "", "Grace" // empty author is the bot's
	if err := b.hook.Deliver(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if body := string(b.next(t).Body); strings.Contains(body, "agent") || !strings.Contains(body, `"author":"bot"`) {
		t.Fatalf("body %s: want author bot and no agent", body)
	}
}

// A retry keeps webhook-id (receivers drop duplicates) and re-signs with the
// time of the new attempt.
func TestDeliverRetryKeepsID(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	r := botReply()
	if err := b.hook.Deliver(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	first := b.next(t)
	b.hook.Now = func() time.Time { return testNow.Add(5 * time.Minute) }
	if err := b.hook.Deliver(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	second := b.next(t)
	if got, want := second.Header.Get("webhook-id"), first.Header.Get("webhook-id"); got != want || got != r.ID {
		t.Fatalf("retry webhook-id=%q, first %q, want both %q", got, want, r.ID)
	}
	if got, want := second.Header.Get("webhook-timestamp"), strconv.FormatInt(testNow.Add(5*time.Minute).Unix(), 10); got != want {
		t.Fatalf("retry webhook-timestamp=%q, want %q", got, want)
	}
	if second.Header.Get("webhook-signature") == first.Header.Get("webhook-signature") {
		t.Fatal("retry reused the first attempt's signature")
	}
	if err := verifyStandard(testSecret, second.Header.Get("webhook-id"), second.Header.Get("webhook-timestamp"), second.Body, second.Header.Get("webhook-signature")); err != nil {
		t.Fatal(err)
	}
}

type class int

const (
	ok class = iota
	retry
	permanent
	retryAfter
)

func (c class) String() string {
	return [...]string{"ok", "retry", "permanent", "retry-after"}[c]
}

func classOf(err error) class {
	switch {
	case err == nil:
		return ok
	case bot.IsPermanent(err):
		return permanent
	}
	if _, ok := bot.RetryDelay(err); ok {
		return retryAfter
	}
	return retry
}

func TestDeliverStatus(t *testing.T) {
	t.Parallel()
	httpDate := func(d time.Duration) string { return testNow.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name       string
		status     int
		retryAfter string
		want       class
		wantDelay  time.Duration
	}{
		{name: "200", status: 200, want: ok},
		{name: "201", status: 201, want: ok},
		{name: "204", status: 204, want: ok},
		{name: "301 not followed", status: 301, want: retry},
		{name: "302 not followed", status: 302, want: retry},
		{name: "400", status: 400, want: permanent},
		{name: "401", status: 401, want: permanent},
		{name: "404", status: 404, want: permanent},
		{name: "408", status: 408, want: retry},
		{name: "409", status: 409, want: retry},
		{name: "410", status: 410, want: permanent},
		{name: "410 ignores Retry-After", status: 410, retryAfter: "7", want: permanent},
		{name: "425", status: 425, want: retry},
		{name: "429 seconds", status: 429, retryAfter: "7", want: retryAfter, wantDelay: 7 * time.Second},
		{name: "429 HTTP date", status: 429, retryAfter: httpDate(90 * time.Second), want: retryAfter, wantDelay: 90 * time.Second},
		{name: "429 without header", status: 429, want: retry},
		{name: "429 past date", status: 429, retryAfter: httpDate(-time.Minute), want: retry},
		{name: "429 zero", status: 429, retryAfter: "0", want: retry},
		{name: "429 garbage", status: 429, retryAfter: "soon", want: retry},
		{name: "503 seconds", status: 503, retryAfter: "120", want: retryAfter, wantDelay: 2 * time.Minute},
		{name: "503 capped", status: 503, retryAfter: "999999999999999999999", want: retryAfter, wantDelay: deliver.MaxRetryAfter},
		{name: "503 date capped", status: 503, retryAfter: httpDate(48 * time.Hour), want: retryAfter, wantDelay: deliver.MaxRetryAfter},
		{name: "503 without header", status: 503, want: retry},
		{name: "400 with Retry-After", status: 400, retryAfter: "30", want: retryAfter, wantDelay: 30 * time.Second},
		{name: "500", status: 500, want: retry},
		{name: "502", status: 502, want: retry},
		{name: "504", status: 504, want: retry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var elsewhere atomic.Int32
			b := setup(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					elsewhere.Add(1)
					return
				}
				if tt.status >= 300 && tt.status < 400 {
					w.Header().Set("Location", "/elsewhere")
				}
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				if tt.status != http.StatusNoContent {
					_, _ = io.WriteString(w, "receiver says "+strconv.Itoa(tt.status))
				}
			})
			err := b.hook.Deliver(context.Background(), botReply())
			if got := classOf(err); got != tt.want {
				t.Fatalf("Deliver()=%v: class %v, want %v", err, got, tt.want)
			}
			if n := elsewhere.Load(); n != 0 {
				t.Fatalf("redirect followed %d times", n)
			}
			if len(b.reqs) != 1 {
				t.Fatalf("receiver got %d requests, want 1", len(b.reqs))
			}
			if err == nil {
				return
			}
			if d, _ := bot.RetryDelay(err); d != tt.wantDelay {
				t.Fatalf("retry delay %v, want %v", d, tt.wantDelay)
			}
			var serr *deliver.StatusError
			if !errors.As(err, &serr) || serr.StatusCode != tt.status {
				t.Fatalf("Deliver()=%v, want a *StatusError with status %d", err, tt.status)
			}
			if got, want := serr.Body, "receiver says "+strconv.Itoa(tt.status); got != want {
				t.Fatalf("StatusError.Body=%q, want %q", got, want)
			}
			if msg := err.Error(); !strings.Contains(msg, "post reply: status "+strconv.Itoa(tt.status)) || strings.Contains(msg, "failed to") {
				t.Fatalf("error %q, want it to name the operation and the status", msg)
			}
		})
	}
}

// The error carries a short, single-line snippet of the response without
// the secret or the signature, and never the URL (which may hold a token).
func TestDeliverErrorSnippet(t *testing.T) {
	t.Parallel()
	b := setup(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "  field\n\t`text`\x00 is\r\nwrong; secret="+testSecret+
			" key="+strings.TrimPrefix(testSecret, "whsec_")+
			" sig="+r.Header.Get("webhook-signature")+" "+strings.Repeat("x", 100<<10))
	})
	b.hook = mustWebhook(t, deliver.WebhookConfig{URL: b.srv.URL + "/hook?token=s3cr3t-token", Secret: testSecret})
	err := b.hook.Deliver(context.Background(), botReply())
	if !bot.IsPermanent(err) {
		t.Fatalf("Deliver()=%v, want permanent", err)
	}
	var serr *deliver.StatusError
	if !errors.As(err, &serr) {
		t.Fatalf("Deliver()=%v, want a *StatusError", err)
	}
	if !strings.HasPrefix(serr.Body, "field `text` is wrong; secret=[redacted] key=[redacted] sig=[redacted] xxx") {
		t.Fatalf("snippet %q", serr.Body)
	}
	if n := len([]rune(serr.Body)); n > 201 {
		t.Fatalf("snippet is %d runes, want at most 201", n)
	}
	msg := err.Error()
	for _, leak := range []string{"C2FVsBQIhrscChlQIMV", "s3cr3t-token", "\n", "\x00", "v1,"} {
		if strings.Contains(msg, leak) {
			t.Fatalf("error %q contains %q", msg, leak)
		}
	}
}

func TestDeliverTimeout(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	b := setup(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done(): // the client gave up
		case <-stop:
		}
	})
	t.Cleanup(func() { close(stop) }) // runs before the server's Close
	b.hook = mustWebhook(t, deliver.WebhookConfig{URL: b.srv.URL + "/hook", Secret: testSecret, Timeout: 100 * time.Millisecond})
	err := b.hook.Deliver(context.Background(), botReply())
	if got := classOf(err); got != retry {
		t.Fatalf("Deliver()=%v: class %v, want retry", err, got)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Deliver()=%v, want it to wrap context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "no response within 100ms") {
		t.Fatalf("error %q does not say what timed out", err)
	}
}

func TestDeliverCanceled(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.hook.Deliver(ctx, botReply())
	if got := classOf(err); got != retry || !errors.Is(err, context.Canceled) {
		t.Fatalf("Deliver(canceled)=%v: class %v, want a retryable context.Canceled", err, got)
	}
}

func TestDeliverNetworkError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook?token=s3cr3t-token"
	srv.Close() // nothing listens there any more
	hook := mustWebhook(t, deliver.WebhookConfig{URL: url, Secret: testSecret})
	err := hook.Deliver(context.Background(), botReply())
	if got := classOf(err); got != retry {
		t.Fatalf("Deliver()=%v: class %v, want retry", err, got)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "post reply: ") || strings.Contains(msg, "s3cr3t-token") {
		t.Fatalf("error %q: want the operation name and no URL", msg)
	}
}

// A client supplied without CheckRedirect still does not follow redirects.
func TestDeliverCustomClientNoRedirect(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	b := setup(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			elsewhere.Add(1)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	b.hook.HTTPClient = client
	err := b.hook.Deliver(context.Background(), botReply())
	if got := classOf(err); got != retry {
		t.Fatalf("Deliver()=%v: class %v, want retry", err, got)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("redirect followed %d times", n)
	}
}

func TestDeliverInvalidReply(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tests := []struct {
		name   string
		mutate func(*bot.Reply)
	}{
		{"no id", func(r *bot.Reply) { r.ID = "" }},
		{"id with a full stop", func(r *bot.Reply) { r.ID = "rpl.1" }},
		{"id with a newline", func(r *bot.Reply) { r.ID = "rpl\n1" }},
		{"no conversation id", func(r *bot.Reply) { r.ConversationID = "" }},
		{"unknown author", func(r *bot.Reply) { r.Author = "customer" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := botReply()
			tt.mutate(&r)
			err := b.hook.Deliver(context.Background(), r)
			if !bot.IsPermanent(err) || !strings.Contains(err.Error(), "encode reply: ") {
				t.Fatalf("Deliver()=%v, want a permanent encode error", err)
			}
		})
	}
	if n := len(b.reqs); n != 0 {
		t.Fatalf("receiver got %d requests, want none", n)
	}
}

func TestDeliverConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			r := botReply()
			r.ID = "rpl_" + strconv.Itoa(i)
			errs <- b.hook.Deliver(context.Background(), r)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(b.reqs); n != 16 {
		t.Fatalf("receiver got %d requests, want 16", n)
	}
}

func TestNewWebhookValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cfg        deliver.WebhookConfig
		wantPrefix string
	}{
		{"no url", deliver.WebhookConfig{Secret: testSecret}, "reply.url: required"},
		{"ftp url", deliver.WebhookConfig{URL: "ftp://example.com/x", Secret: testSecret}, "reply.url: "},
		{"url with credentials", deliver.WebhookConfig{URL: "https://u:hunter2@example.com/x", Secret: testSecret}, "reply.url: "},
		{"no secret", deliver.WebhookConfig{URL: "https://example.com/x"}, "reply.secret: required"},
		{"secret without prefix", deliver.WebhookConfig{URL: "https://example.com/x", Secret: "C2FVsBQIhrscChlQIMV+b5sSYspob7oD"}, "reply.secret: "},
		{"secret not base64", deliver.WebhookConfig{URL: "https://example.com/x", Secret: "whsec_hunter2!"}, "reply.secret: "},
		{"secret too short", deliver.WebhookConfig{URL: "https://example.com/x", Secret: "whsec_aHVudGVyMg=="}, "reply.secret: "},
		{"negative timeout", deliver.WebhookConfig{URL: "https://example.com/x", Secret: testSecret, Timeout: -time.Second}, "reply.timeout: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := deliver.NewWebhook(tt.cfg)
			if err == nil {
				t.Fatal("NewWebhook()=nil error, want one")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.wantPrefix) {
				t.Fatalf("error %q, want prefix %q", msg, tt.wantPrefix)
			}
			for _, leak := range []string{"hunter2", "aHVudGVyMg", "C2FVsBQIhrscChlQIMV"} {
				if strings.Contains(msg, leak) {
					t.Fatalf("error %q repeats a secret", msg)
				}
			}
		})
	}
	if _, err := deliver.NewWebhook(deliver.WebhookConfig{URL: "https://example.com/x", Secret: testSecret}); err != nil {
		t.Fatalf("NewWebhook(valid)=%v", err)
	}
}
