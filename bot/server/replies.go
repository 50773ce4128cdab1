package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/supportbot/supportbot/bot"
)

// ReplyStore stores agents' replies written outside Slack.
type ReplyStore interface {
	// AgentReply queues an agent's reply with the rules of a Slack thread
	// reply; see sqlite.Store.AgentReply for its errors.
	AgentReply(ctx context.Context, a bot.AgentReply) (bot.AgentReplyResult, error)
}

// Limits of POST /admin/api/conversations/{key}/replies.
const (
	// MaxReplyBody caps the request body (413 past it); the text itself is
	// capped at bot.MaxTextLen (400).
	MaxReplyBody = 64 << 10
	// IdempotencyHeader names the request's idempotency key.
	IdempotencyHeader = "Idempotency-Key"
	// ReplayedHeader is set on the answer to a repeated request.
	ReplayedHeader = "Idempotent-Replayed"
)

// postConversation serves POST /admin/api/conversations/{key...}: a path
// ending in /replies writes an agent's reply, anything else changes the
// conversation's state. The last segment is read from the escaped path, so
// a conversation whose own id ends in "/replies" is still reachable with
// its slashes escaped (%2F).
func (a *Admin) postConversation(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if strings.HasSuffix(r.URL.EscapedPath(), "/replies") {
		a.postReply(w, r, strings.TrimSuffix(key, "/replies"))
		return
	}
	a.changeConversation(w, r)
}

// postReply writes an agent's reply: {"text": "...", "agent": "name"} →
// 201 {"reply": {...}, "claimed": bool}. The reply is relayed through the
// conversation's reply channel as a Slack thread reply is, and claims an
// escalated conversation for the agent. Statuses: 400 (empty text, text
// over bot.MaxTextLen, no agent, a bad body), 404 (unknown conversation),
// 409 (the bot owns the conversation or it is resolved: claim it first),
// 413 (body over MaxReplyBody), 422 (an Idempotency-Key an earlier,
// different request used). A request repeating an earlier one's
// Idempotency-Key gets the first 201 again, with Idempotent-Replayed: true,
// and sends nothing.
func (a *Admin) postReply(w http.ResponseWriter, r *http.Request, key string) {
	var body struct {
		Text  string `json:"text"`
		Agent string `json:"agent"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxReplyBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: "body too large"})
			return
		}
		a.fail(w, bot.Invalid("body", "want a JSON object with text and agent: %v", err))
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		a.fail(w, bot.Invalid("body", "one JSON object only"))
		return
	}
	res, err := a.Store.AgentReply(r.Context(), bot.AgentReply{
		ConversationKey: key, Agent: body.Agent, Text: body.Text,
		IdempotencyKey: r.Header.Get(IdempotencyHeader), Via: "through the admin API",
	})
	var ve *bot.ValidationError
	switch {
	case errors.As(err, &ve) && ve.Field == "idempotency_key":
		writeJSON(w, http.StatusBadRequest, apiError{Error: ve.Reason, Field: IdempotencyHeader})
		return
	case errors.Is(err, bot.ErrIdempotencyKeyReused):
		writeJSON(w, http.StatusUnprocessableEntity, apiError{
			Error: "this Idempotency-Key was used for a different request", Field: IdempotencyHeader})
		return
	case err != nil:
		a.fail(w, err)
		return
	}
	if res.Replayed {
		w.Header().Set(ReplayedHeader, "true")
	} else {
		a.Logger.Info("agent reply queued", "conversation", key, "agent", res.Reply.AgentName,
			"reply_id", res.Reply.ID, "claimed", res.Claimed)
	}
	writeJSON(w, http.StatusCreated, replyResponse{Reply: res.Reply, Claimed: res.Claimed})
}

// replyResponse is the body of a 201 from postReply.
type replyResponse struct {
	Reply   bot.Reply `json:"reply"`
	Claimed bool      `json:"claimed"`
}
