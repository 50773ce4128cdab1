package webchat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/supportbot/supportbot/bot"
)

// maxRatingBody caps a rating request: a score and a comment of at most
// bot.MaxRatingComment bytes, with room for JSON escapes.
const maxRatingBody = 16 << 10

// ratingRequest is the body of POST /chat/{trigger}/rating.
type ratingRequest struct {
	Score   int    `json:"score"`
	Comment string `json:"comment"`
}

// handleRating stores the visitor's 1–5 rating of their resolved
// conversation, with an optional comment. It takes the session as a chat
// message does, in the X-Chat-Visitor and X-Chat-Token headers: with a JSON
// body, another site cannot send it without a CORS preflight, which is
// never granted, so the request needs no CSRF token. The per-visitor limit
// of messages applies to it as well.
//
// 200 {"score","comment"} once stored; 400 a score outside 1–5 or a bad
// body; 401 no valid session; 403 cross-site; 404 the visitor has no
// conversation; 409 the conversation is not resolved; 415 not JSON; 429
// over the visitor's limit.
func (c *Chat) handleRating(w http.ResponseWriter, r *http.Request) {
	start := c.now()
	name := r.PathValue("trigger")
	s, ok := c.sessions(name)
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such chat"})
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		writeJSON(w, http.StatusForbidden, apiError{Error: "cross-site request refused"})
		return
	}
	visitor := r.Header.Get(VisitorHeader)
	if err := s.CheckToken(visitor, r.Header.Get(TokenHeader), start); err != nil {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "no valid chat session"})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, apiError{Error: "send application/json", Field: "content-type"})
		return
	}
	if ok, wait := c.limiter.Allow(name+"/"+visitor, start); !ok {
		c.refuseRate(w, r, name, start, wait)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRatingBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: "body too large", Field: "body"})
		return
	}
	var in ratingRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "body must be a JSON object with score and comment", Field: "body"})
		return
	}
	key := name + "/" + visitor
	rt := bot.Rating{ConversationKey: key, Score: in.Score, Comment: in.Comment}
	err = c.Store.RateConversation(r.Context(), rt)
	var ve *bot.ValidationError
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, apiError{Error: ve.Error(), Field: ve.Field})
	case errors.Is(err, bot.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: "no conversation to rate"})
	case errors.Is(err, bot.ErrConflict):
		writeJSON(w, http.StatusConflict, apiError{Error: "only a resolved conversation can be rated"})
	case err != nil:
		c.Logger.Error("chat rating", "trigger", name, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal error"})
	default:
		c.Logger.Info("conversation rated", "trigger", name, "conversation", key, "score", in.Score)
		writeJSON(w, http.StatusOK, ratingRequest{Score: in.Score, Comment: in.Comment})
	}
}

// rated is the visitor's score of a resolved conversation, for the page
// that opens on it (0: not rated, or not resolved).
func (c *Chat) rated(ctx context.Context, key string, st bot.State) int {
	if st != bot.StateResolved {
		return 0
	}
	rt, err := c.Store.Rating(ctx, key)
	if err != nil {
		if !errors.Is(err, bot.ErrNotFound) {
			c.Logger.Error("chat rating", "conversation", key, "err", err)
		}
		return 0
	}
	return rt.Score
}
