package bot

import (
	"context"
	"encoding/json"
	"time"
)

// LLMRequest is one chat completion to ask of a language model: a system
// prompt with the bot's instructions, a user prompt with the data to decide
// on, and the JSON schema the reply must follow.
type LLMRequest struct {
	System string
	User   string
	// Schema is a JSON schema for the reply; SchemaName names it (a-z, 0-9,
	// _ and -). With no Schema the model replies in free text.
	Schema     json.RawMessage
	SchemaName string
	// MaxTokens caps the completion's length (0: the server's default).
	MaxTokens int
}

// LLMResponse is a model's reply to an LLMRequest.
type LLMResponse struct {
	// Content is the reply text: JSON when the request had a Schema and the
	// server honoured it, possibly fenced or wrapped in prose when it did not.
	Content          string
	PromptTokens     int
	CompletionTokens int
	// Latency is the time the call took, as measured by the client.
	Latency time.Duration
}

// Answerer sends a prompt to a language model and returns its completion.
// It is thin: it neither retries nor checks the content.
//
// Complete's error contract: an error wrapping a *PermanentError means a
// retry cannot help (a bad request, a missing model, a rejected key); an
// error wrapping a *RetryAfterError carries the delay the server asked for;
// any other error (a transport error, a timeout, a 5xx) may succeed on retry.
// When ctx is done, the error wraps ctx.Err().
type Answerer interface {
	Complete(ctx context.Context, req LLMRequest) (LLMResponse, error)
}

// AnswererFunc adapts a function to Answerer.
type AnswererFunc func(ctx context.Context, req LLMRequest) (LLMResponse, error)

// Complete calls f.
func (f AnswererFunc) Complete(ctx context.Context, req LLMRequest) (LLMResponse, error) {
	return f(ctx, req)
}

// Embedder turns texts into vectors with an embedding model, one vector per
// text, in order. Its error contract is Answerer's.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// EmbedderFunc adapts a function to Embedder.
type EmbedderFunc func(ctx context.Context, texts []string) ([][]float32, error)

// Embed calls f.
func (f EmbedderFunc) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return f(ctx, texts)
}

// LLMCall describes one LLM call (or one call skipped by the breaker), as
// the policy reports it for metrics.
type LLMCall struct {
	// Outcome is ok, invalid, rate_limited, timeout, rejected, error or
	// breaker_open (the policy's Outcome* constants).
	Outcome          string
	Attempt          int // 1 for the first call of a turn
	Latency          time.Duration
	PromptTokens     int
	CompletionTokens int
	Err              error // nil when Outcome is ok
}
