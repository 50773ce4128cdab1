package deliver

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/supportbot/supportbot/bot"
)

// Defaults and limits of a Webhook.
const (
	// DefaultTimeout bounds one delivery attempt: connecting, sending and
	// reading the response.
	DefaultTimeout = 10 * time.Second
	// MaxRetryAfter caps the delay a receiver can ask for with Retry-After,
	// so that a bogus header cannot park a reply for days.
	MaxRetryAfter = time.Hour
	// MaxResponseBytes is how much of a response body is read.
	MaxResponseBytes = 64 << 10
	// MinSecretBytes is the shortest signing key accepted; Standard Webhooks
	// asks for 24 to 64 random bytes.
	MinSecretBytes = 24
	// EventReplyCreated is the type of the reply webhook's body.
	EventReplyCreated = "reply.created"
)

// maxSnippet is how many runes of a response body an error carries.
const maxSnippet = 200

// secretPrefix starts a Standard Webhooks symmetric secret.
const secretPrefix = "whsec_"

// UserAgent is the User-Agent of every delivery. cmd/supportbot sets it to
// "supportbot/<version>" at start-up, before any delivery.
var UserAgent = "supportbot/dev"

var _ bot.Deliverer = (*Webhook)(nil)

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	// URL is the callback URL replies are POSTed to (http or https).
	URL string
	// Secret is the Standard Webhooks signing secret: "whsec_" followed by
	// the base64 of at least MinSecretBytes random bytes.
	Secret string
	// Timeout bounds one delivery attempt (default DefaultTimeout).
	Timeout time.Duration
}

// Webhook delivers replies as signed Standard Webhooks POSTs to one callback
// URL. It is safe for concurrent use once configured.
type Webhook struct {
	// HTTPClient sends the requests. NewWebhook sets it to NewHTTPClient
	// with private networks refused. Whatever the client's CheckRedirect,
	// Webhook never follows redirects.
	HTTPClient *http.Client
	// Now returns the time of an attempt (webhook-timestamp) and the base of
	// an HTTP-date Retry-After.
	Now func() time.Time
	// Logger receives a debug line per delivered reply.
	Logger *slog.Logger

	url      string
	key      []byte
	fallback *http.Client // used when HTTPClient is set to nil
	timeout  time.Duration
	// redact holds the secret and its base64 part, never to be repeated in
	// an error.
	redact [2]string
}

// NewWebhook validates cfg and returns a Webhook. Errors name the key at
// fault: "reply.url: ...", "reply.secret: ..." or "reply.timeout: ...", and
// never repeat the URL or the secret.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if err := CheckURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("reply.url: %w", err)
	}
	key, err := decodeSecret(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("reply.secret: %w", err)
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("reply.timeout: must be positive")
	}
	timeout := cmp.Or(cfg.Timeout, DefaultTimeout)
	client := NewHTTPClient(ClientOptions{Timeout: timeout})
	return &Webhook{
		HTTPClient: client,
		fallback:   client,
		Now:        time.Now,
		Logger:     slog.Default(),
		url:        cfg.URL,
		key:        key,
		timeout:    timeout,
		redact:     [2]string{cfg.Secret, strings.TrimPrefix(cfg.Secret, secretPrefix)},
	}, nil
}

// Deliver POSTs r to the callback URL, signed, within the attempt timeout.
// It returns nil on a 2xx response. Other outcomes follow the job error
// classes: bot.Permanent for a 410, most other 4xx, a blocked address or a
// reply that cannot be encoded; bot.RetryAfter when the receiver sent a
// Retry-After header; a plain error (retry with backoff) for 3xx, 408, 409,
// 425, 429, 5xx, network errors and timeouts. See the package doc.
func (w *Webhook) Deliver(ctx context.Context, r bot.Reply) error {
	if w.key == nil {
		return bot.Permanent(errors.New("post reply: webhook not configured (use NewWebhook)"))
	}
	body, err := encodeReply(r)
	if err != nil {
		return bot.Permanent(fmt.Errorf("encode reply: %w", err))
	}

	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()

	now := w.now()
	sig := sign(w.key, r.ID, now, body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token
		}
		return bot.Permanent(fmt.Errorf("post reply: %w", err))
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	h.Set("webhook-id", r.ID)
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	h.Set("Idempotency-Key", r.ID)

	start := time.Now()
	resp, err := w.client().Do(req)
	if err != nil {
		return transportError(ctx, "post reply", w.timeout, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Drain (a bounded amount) so the connection can be reused; the
		// receiver has accepted the reply whatever happens now.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBytes))
		w.logger().Debug("reply delivered", "reply_id", r.ID, "status", resp.StatusCode,
			"duration", time.Since(start))
		return nil
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	serr := &StatusError{
		StatusCode: resp.StatusCode,
		Body:       sanitize(data, []string{w.redact[0], w.redact[1], sig, strings.TrimPrefix(sig, "v1,")}),
	}
	return classifyStatus(serr, resp.Header.Get("Retry-After"), w.now())
}

// transportError turns a failed round trip of operation op into a job
// error: a blocked address is permanent, anything else is retried.
func transportError(ctx context.Context, op string, timeout time.Duration, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // *url.Error repeats the URL, which may hold a token
	}
	switch {
	case errors.Is(err, ErrBlockedAddress):
		return bot.Permanent(fmt.Errorf("%s: %w", op, err))
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%s: no response within %s: %w", op, timeout, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// classifyStatus maps a non-2xx response to a job error class.
func classifyStatus(serr *StatusError, retryAfter string, now time.Time) error {
	err := fmt.Errorf("post reply: %w", serr)
	code := serr.StatusCode
	if code == http.StatusGone {
		// The receiver says the endpoint is gone for good.
		return bot.Permanent(err)
	}
	if d, ok := parseRetryAfter(retryAfter, now); ok {
		return bot.RetryAfter(d, err)
	}
	return classifyCode(err, code)
}

// classifyCode classes err, a response with status code: redirects,
// timeouts, conflicts and rate limits are retried, other client errors are
// permanent, server errors are retried.
func classifyCode(err error, code int) error {
	switch {
	case code >= 300 && code < 400:
		return err
	case code == http.StatusRequestTimeout, code == http.StatusConflict,
		code == http.StatusTooEarly, code == http.StatusTooManyRequests:
		return err
	case code >= 400 && code < 500:
		return bot.Permanent(err)
	}
	return err
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date,
// as a positive delay capped at MaxRetryAfter. A missing, malformed, zero or
// past value reports false: the runner's own backoff applies.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if isDigits(v) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true // out of range: as long as we allow
		}
		d = time.Duration(n) * time.Second
	} else {
		t, err := http.ParseTime(v)
		if err != nil {
			return 0, false
		}
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0, false
	}
	return min(d, MaxRetryAfter), true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// StatusError is a non-2xx response from the receiver.
type StatusError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Body is a short snippet of the response body: valid UTF-8, control
	// characters and runs of white space folded into single spaces, the
	// signing secret and signature redacted, at most 200 characters.
	Body string
}

// Error describes the response: the status, and the body snippet if any.
func (e *StatusError) Error() string {
	msg := "status " + strconv.Itoa(e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		msg += " " + t
	}
	if e.StatusCode >= 300 && e.StatusCode < 400 {
		msg += " (redirects are not followed)"
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// sanitize turns a response body into a short, single-line snippet safe to
// store and show: no secrets, no control characters, valid UTF-8.
func sanitize(data []byte, redact []string) string {
	s := strings.ToValidUTF8(string(data), "\uFFFD")
	for _, r := range redact {
		if r != "" {
			s = strings.ReplaceAll(s, r, "[redacted]")
		}
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\uFEFF'
	}), " ")
	if utf8.RuneCountInString(s) > maxSnippet {
		s = string([]rune(s)[:maxSnippet]) + "…"
	}
	return s
}

// The outbound reply contract (DESIGN.md). The agent object is a sibling of
// author inside message; see the package doc.
type replyBody struct {
	Type         string           `json:"type"`
	Conversation conversationBody `json:"conversation"`
	Message      messageBody      `json:"message"`
	State        bot.State        `json:"state"`
}

type conversationBody struct {
	ID string `json:"id"`
}

type messageBody struct {
	ID     string     `json:"id"`
	Text   string     `json:"text"`
	Author string     `json:"author"`
	Agent  *agentBody `json:"agent,omitempty"`
	// Options are the reply's quick replies (an additive field, absent
	// when there are none): a receiver that can show buttons offers them,
	// and sends the one picked back as the customer's message.
	Options []string `json:"options,omitempty"`
}

type agentBody struct {
	Name string `json:"name"`
}

// encodeReply renders the body of r: compact JSON, no HTML escaping, no
// trailing newline. It refuses replies that a retry could not fix.
func encodeReply(r bot.Reply) ([]byte, error) {
	if err := checkID(r.ID); err != nil {
		return nil, fmt.Errorf("id: %w", err)
	}
	if r.ConversationID == "" {
		return nil, errors.New("conversation id: required")
	}
	m := messageBody{ID: r.ID, Text: r.Text, Author: cmp.Or(r.Author, bot.AuthorBot), Options: r.Options}
	switch m.Author {
	case bot.AuthorBot:
	case bot.AuthorAgent:
		m.Agent = &agentBody{Name: r.AgentName}
	default:
		return nil, fmt.Errorf("author: %q is not bot or agent", r.Author)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(replyBody{
		Type:         EventReplyCreated,
		Conversation: conversationBody{ID: r.ConversationID},
		Message:      m,
		State:        r.State,
	})
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// checkID accepts a webhook-id: printable ASCII without spaces or full stops
// (the full stop separates the signed fields).
func checkID(id string) error {
	if id == "" {
		return errors.New("required")
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '.' {
			return fmt.Errorf("%q has a character not allowed in webhook-id", id)
		}
	}
	return nil
}

// Sign returns the Standard Webhooks signature header value
// "v1,<base64 HMAC-SHA256>" of body sent with message id and timestamp ts,
// keyed with secret ("whsec_" + base64). The signed content is
// id + "." + unix seconds + "." + body.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", fmt.Errorf("sign: secret: %w", err)
	}
	return sign(key, id, ts, body), nil
}

func sign(key []byte, id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// decodeSecret returns the key of a "whsec_<base64>" secret. Errors never
// repeat the secret.
func decodeSecret(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("required")
	}
	b64, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return nil, errors.New(`must start with "whsec_" (a Standard Webhooks secret: whsec_ followed by base64)`)
	}
	if b64 == "" {
		return nil, errors.New(`no key after "whsec_"`)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		// Accept unpadded base64 too, as the Python reference library does.
		var err2 error
		if key, err2 = base64.RawStdEncoding.DecodeString(b64); err2 != nil {
			return nil, fmt.Errorf("key after \"whsec_\" is not base64: %w", err)
		}
	}
	if len(key) < MinSecretBytes {
		return nil, fmt.Errorf("key is %d bytes, want at least %d", len(key), MinSecretBytes)
	}
	return key, nil
}

// client returns the HTTP client for one attempt, with redirects off
// whatever the configured client says.
func (w *Webhook) client() *http.Client {
	cc := *cmp.Or(w.HTTPClient, w.fallback)
	cc.CheckRedirect = noRedirect
	return &cc
}

func (w *Webhook) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Webhook) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}
