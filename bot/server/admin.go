package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/internal/ratelimit"
)

// AdminStore is the part of the store the admin API reads and changes.
type AdminStore interface {
	ListConversations(ctx context.Context, f bot.ConversationFilter) ([]*bot.Conversation, error)
	Conversation(ctx context.Context, key string) (*bot.Conversation, error)
	Messages(ctx context.Context, key string) ([]bot.Message, error)
	Transitions(ctx context.Context, key string) ([]bot.Transition, error)
	Replies(ctx context.Context, key string) ([]bot.StoredReply, error)
	ListAudit(ctx context.Context, f bot.AuditFilter) ([]bot.AuditEntry, error)
	ListJobs(ctx context.Context, f bot.JobFilter) ([]*bot.Job, error)
	ReplayJob(ctx context.Context, id int64) error
	ListEscalations(ctx context.Context, status string, n int) ([]bot.StoredEscalation, error)
	// ChangeState changes a conversation's state by the rules of
	// bot.StateChange.
	ChangeState(ctx context.Context, sc bot.StateChange) (*bot.Conversation, error)
	ReplyStore
}

// Admin is the operators' JSON API under /admin/api/, behind a bearer token.
// With an empty token it is not mounted at all.
type Admin struct {
	Store AdminStore
	Token string
	// Guard, when set, checks the token and limits failures for every
	// route it opens (else a guard of Token's own).
	Guard  *TokenGuard
	Logger *slog.Logger
}

// Handler returns the API's routes, each requiring the token.
func (a *Admin) Handler() http.Handler {
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/api/conversations", a.listConversations)
	mux.HandleFunc("GET /admin/api/conversations/{key...}", a.getConversation)
	mux.HandleFunc("POST /admin/api/conversations/{key...}", a.postConversation)
	mux.HandleFunc("GET /admin/api/audit", a.listAudit)
	mux.HandleFunc("GET /admin/api/audit/rejections", a.listRejections)
	mux.HandleFunc("GET /admin/api/dead-letters", a.listDead)
	mux.HandleFunc("POST /admin/api/dead-letters/{id}/replay", a.replay)
	mux.HandleFunc("GET /admin/api/escalations", a.listEscalations)
	return a.auth(mux)
}

// auth checks "Authorization: Bearer <token>" in constant time, with the
// shared Guard when one is set.
func (a *Admin) auth(next http.Handler) http.Handler {
	if a.Guard != nil {
		return a.Guard.Wrap(next)
	}
	return RequireToken(a.Token, next)
}

// DefaultTokenFailures bounds the failed admin-token attempts of one client
// address: 10 at once, then one every 6 seconds, as the dashboard's sign-in.
var DefaultTokenFailures = ratelimit.Config{Rate: 1.0 / 6, Burst: 10}

// TokenGuard checks the admin bearer token and limits each client address's
// failures (DefaultTokenFailures); share one between the routes the token
// opens, so that the limit holds across them.
type TokenGuard struct {
	token string
	want  [sha256.Size]byte
	fails *ratelimit.Buckets
}

// NewTokenGuard returns a guard of token; an empty token refuses everything.
func NewTokenGuard(token string) *TokenGuard {
	return &TokenGuard{token: token, want: sha256.Sum256([]byte(token)), fails: ratelimit.NewBuckets(DefaultTokenFailures, 0)}
}

// Wrap serves next only to requests that carry "Authorization: Bearer
// <token>" (compared in constant time); others get 401. Each failure spends
// one of the client address's DefaultTokenFailures; an address that has
// none left gets 429 with Retry-After before its token is even compared, so
// guessing from one address is as slow as the dashboard's sign-in.
func (g *TokenGuard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, now := clientHost(r), time.Now()
		if wait := g.fails.Wait(addr, now); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeJSON(w, http.StatusTooManyRequests, apiError{Error: "too many failed admin token attempts; try again later"})
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || g.token == "" || subtle.ConstantTimeCompare(sum[:], g.want[:]) != 1 {
			g.fails.Allow(addr, now)
			w.Header().Set("WWW-Authenticate", `Bearer realm="supportbot admin"`)
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "missing or wrong admin token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireToken is NewTokenGuard(token).Wrap(next): a guard of its own.
func RequireToken(token string, next http.Handler) http.Handler {
	return NewTokenGuard(token).Wrap(next)
}

// WriteJSON writes v as a JSON response with status.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

func (a *Admin) fail(w http.ResponseWriter, err error) { WriteError(w, a.Logger, "admin api", err) }

// WriteError writes the one status each error class maps to (400 naming
// the field, 404, 409, else 500); internal errors are logged under op, and
// their text is never shown.
func WriteError(w http.ResponseWriter, logger *slog.Logger, op string, err error) {
	var ve *bot.ValidationError
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, apiError{Error: ve.Error(), Field: ve.Field})
	case errors.Is(err, bot.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: "not found"})
	case errors.Is(err, bot.ErrConflict):
		writeJSON(w, http.StatusConflict, apiError{Error: err.Error()})
	default:
		logger.Error(op, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal error"})
	}
}

func limitParam(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	return n
}

func (a *Admin) listConversations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	st := bot.State(q.Get("state"))
	if st == "all" {
		st = ""
	}
	if st != "" && !st.Valid() {
		a.fail(w, bot.Invalid("state", "%q is not a state", st))
		return
	}
	list, err := a.Store.ListConversations(r.Context(), bot.ConversationFilter{
		State: st, Trigger: q.Get("trigger"), Query: q.Get("q"), Limit: limitParam(r),
	})
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": nonNil(list)})
}

func (a *Admin) getConversation(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	ctx := r.Context()
	c, err := a.Store.Conversation(ctx, key)
	if err != nil {
		a.fail(w, err)
		return
	}
	msgs, err := a.Store.Messages(ctx, key)
	if err != nil {
		a.fail(w, err)
		return
	}
	trs, err := a.Store.Transitions(ctx, key)
	if err != nil {
		a.fail(w, err)
		return
	}
	replies, err := a.Store.Replies(ctx, key)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"conversation": c, "messages": nonNil(msgs), "transitions": nonNil(trs), "replies": nonNil(replies),
	})
}

// changeConversation resolves, claims or reassigns a conversation:
// {"state": "resolved" | "bot" | "agent" | "escalated", "actor": "...",
// "reason": "..."}, by the same rules as the dashboard's buttons and
// Slack's (bot.StateChange): "agent" claims the escalation for actor.
func (a *Admin) changeConversation(w http.ResponseWriter, r *http.Request) {
	var body struct {
		State  bot.State `json:"state"`
		Actor  string    `json:"actor"`
		Reason string    `json:"reason"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		a.fail(w, bot.Invalid("body", "%v", err))
		return
	}
	if !body.State.Valid() {
		a.fail(w, bot.Invalid("state", "%q is not a state", body.State))
		return
	}
	actor := body.Actor
	if actor == "" {
		actor = "operator"
	}
	c, err := a.Store.ChangeState(r.Context(), bot.StateChange{
		Key: r.PathValue("key"), To: body.State, Actor: actor, Reason: body.Reason,
	})
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversation": c})
}

func (a *Admin) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list, err := a.Store.ListAudit(r.Context(), bot.AuditFilter{
		Trigger: q.Get("trigger"), Rejected: q.Get("rejected") == "true", Limit: limitParam(r),
	})
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"audit": nonNil(list)})
}

// listRejections returns the counts of requests refused before they proved
// anything, per source per minute, over the last ?hours (default 24).
func (a *Admin) listRejections(w http.ResponseWriter, r *http.Request) {
	rs, ok := a.Store.(interface {
		ListRejections(ctx context.Context, since time.Time, n int) ([]bot.RejectionCount, error)
	})
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"rejections": []bot.RejectionCount{}})
		return
	}
	hours, err := strconv.Atoi(r.URL.Query().Get("hours"))
	if err != nil || hours < 1 || hours > 24*90 {
		hours = 24
	}
	out, err := rs.ListRejections(r.Context(), time.Now().Add(-time.Duration(hours)*time.Hour), limitParam(r))
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"rejections": nonNil(out)})
}

func (a *Admin) listDead(w http.ResponseWriter, r *http.Request) {
	list, err := a.Store.ListJobs(r.Context(), bot.JobFilter{State: bot.JobDiscarded, Kind: r.URL.Query().Get("kind"), Limit: limitParam(r)})
	if err != nil {
		a.fail(w, err)
		return
	}
	type dead struct {
		ID        int64  `json:"id"`
		Kind      string `json:"kind"`
		QueueKey  string `json:"queue_key"`
		Attempts  int    `json:"attempts"`
		LastError string `json:"last_error"`
		UpdatedAt string `json:"updated_at"`
	}
	out := make([]dead, 0, len(list))
	for _, j := range list {
		out = append(out, dead{j.ID, j.Kind, j.QueueKey, j.Attempt, j.LastError, j.UpdatedAt.Format("2006-01-02T15:04:05Z")})
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": out})
}

func (a *Admin) replay(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.fail(w, bot.Invalid("id", "not a number"))
		return
	}
	if err := a.Store.ReplayJob(r.Context(), id); err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"replayed": id})
}

func (a *Admin) listEscalations(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	switch {
	case status == "all":
		status = ""
	case status != "" && !slices.Contains(bot.EscalationStatuses, status):
		a.fail(w, bot.Invalid("status", "%q is not one of all, %s", status, strings.Join(bot.EscalationStatuses, ", ")))
		return
	}
	list, err := a.Store.ListEscalations(r.Context(), status, limitParam(r))
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"escalations": nonNil(list)})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
