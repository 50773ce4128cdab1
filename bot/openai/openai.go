// Package openai implements bot.Answerer on github.com/sashabaranov/go-openai
// for any server that speaks OpenAI's Chat Completions API: OpenAI itself,
// Azure OpenAI's v1 endpoint, Ollama, vLLM, llama.cpp's server and others.
//
// It is thin: a prompt goes in, a completion comes out. It does not retry
// and does not look at the content; it translates the server's errors into
// the bot package's classes (bot.Permanent, bot.RetryAfter) so that the
// caller can decide what to do.
package openai

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/supportbot/supportbot/bot"
)

// Defaults for Config's zero values.
const (
	DefaultBaseURL     = "https://api.openai.com/v1"
	DefaultModel       = "gpt-4o-mini"
	DefaultTimeout     = 30 * time.Second
	DefaultTemperature = 0.1
)

// Config configures an Answerer.
type Config struct {
	// BaseURL is the API root, ending in /v1 for most servers
	// (http://localhost:11434/v1 for Ollama). Default DefaultBaseURL.
	BaseURL string
	// Model is the model name (the deployment name on Azure). Default DefaultModel.
	Model string
	// APIKey is sent as a bearer token; empty sends none (local servers).
	APIKey string
	// Timeout caps one call (default DefaultTimeout); a deadline on the
	// caller's ctx that comes sooner wins.
	Timeout time.Duration
	// Temperature is the sampling temperature (default DefaultTemperature).
	// go-openai omits a zero temperature from the request, and the server
	// then uses its own default (often 0.7 to 1), so a small non-zero value
	// is what "deterministic" means here; a negative value sends none.
	Temperature float32
	// HTTPClient sends the requests (default: a client with Timeout).
	HTTPClient *http.Client
}

// Answerer is a bot.Answerer on an OpenAI-compatible server. It is safe for
// concurrent use.
type Answerer struct {
	client      *goopenai.Client
	model       string
	timeout     time.Duration
	temperature float32
	// Now is the clock used to measure latency (default time.Now).
	Now func() time.Time
}

var _ bot.Answerer = (*Answerer)(nil)

// NewAnswerer returns an Answerer for cfg; zero fields take their defaults.
func NewAnswerer(cfg Config) *Answerer {
	timeout := cmp.Or(cfg.Timeout, DefaultTimeout)
	cc := goopenai.DefaultConfig(cfg.APIKey)
	cc.BaseURL = strings.TrimRight(cmp.Or(cfg.BaseURL, DefaultBaseURL), "/")
	if cfg.HTTPClient != nil {
		cc.HTTPClient = cfg.HTTPClient
	} else {
		// Never http.DefaultClient: it has no timeout.
		cc.HTTPClient = &http.Client{Timeout: timeout}
	}
	temp := cmp.Or(cfg.Temperature, DefaultTemperature)
	if temp < 0 {
		temp = 0
	}
	return &Answerer{
		client:      goopenai.NewClientWithConfig(cc),
		model:       cmp.Or(cfg.Model, DefaultModel),
		timeout:     timeout,
		temperature: temp,
		Now:         time.Now,
	}
}

// Model returns the model name requests are sent with.
func (a *Answerer) Model() string { return a.model }

// Complete sends one chat completion request: req.System as the system
// message, req.User as the user message, and req.Schema (when set) as a
// strict json_schema response format. See bot.Answerer for the error
// contract.
func (a *Answerer) Complete(ctx context.Context, req bot.LLMRequest) (bot.LLMResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	creq := a.request(req)
	start := a.Now()
	resp, err := a.client.CreateChatCompletion(ctx, creq)
	out := bot.LLMResponse{Latency: a.Now().Sub(start)}
	if err != nil {
		return out, fmt.Errorf("chat completion: %w", classify(ctx, err, resp.Header(), a.Now()))
	}
	out.PromptTokens, out.CompletionTokens = resp.Usage.PromptTokens, resp.Usage.CompletionTokens
	if len(resp.Choices) == 0 {
		// A server bug or an overloaded proxy; another try may do better.
		return out, errors.New("chat completion: no choices in the response")
	}
	out.Content = resp.Choices[0].Message.Content
	return out, nil
}

// request builds the go-openai request for req.
func (a *Answerer) request(req bot.LLMRequest) goopenai.ChatCompletionRequest {
	creq := goopenai.ChatCompletionRequest{
		Model: a.model,
		Messages: []goopenai.ChatCompletionMessage{
			{Role: goopenai.ChatMessageRoleSystem, Content: req.System},
			{Role: goopenai.ChatMessageRoleUser, Content: req.User},
		},
		Temperature: a.temperature,
		// max_tokens rather than max_completion_tokens: older local
		// servers honour only the former.
		//lint:ignore SA1019 older OpenAI-compatible servers honour only max_tokens
		MaxTokens: req.MaxTokens,
	}
	if len(req.Schema) > 0 {
		creq.ResponseFormat = &goopenai.ChatCompletionResponseFormat{
			Type: goopenai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &goopenai.ChatCompletionResponseFormatJSONSchema{
				Name: cmp.Or(req.SchemaName, "response"), Schema: req.Schema, Strict: true,
			},
		}
	}
	if goopenai.NewReasoningValidator().Validate(creq) != nil {
		// Reasoning models (o1, o3, o4, gpt-5, ...) reject max_tokens and any
		// temperature but 1: send what they accept rather than fail
		// client-side on every call.
		//lint:ignore SA1019 moving the deprecated field into its replacement
		creq.MaxCompletionTokens, creq.MaxTokens = creq.MaxTokens, 0
		creq.Temperature = 0
	}
	return creq
}

// classify translates a go-openai error into the bot package's classes:
// 408, 409, 429 and 5xx are retryable (with the server's Retry-After, when
// it gave one), other statuses are permanent, and transport errors and
// timeouts are retryable.
func classify(ctx context.Context, err error, h http.Header, now time.Time) error {
	status := 0
	var apiErr *goopenai.APIError
	var reqErr *goopenai.RequestError
	switch {
	case errors.As(err, &apiErr):
		status = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
	}
	switch {
	case status == 0:
		if ctx.Err() == nil && isClientSide(err) {
			return bot.Permanent(err)
		}
		return err // transport error or deadline: retryable
	case status == http.StatusRequestTimeout || status == http.StatusConflict ||
		status == http.StatusTooManyRequests || status >= 500:
		if d, ok := retryAfter(h, now); ok {
			return bot.RetryAfter(d, err)
		}
		return err
	default:
		return bot.Permanent(err)
	}
}

// isClientSide reports whether err is go-openai refusing the request before
// sending it (an unsupported model or parameter): no retry can help.
func isClientSide(err error) bool {
	for _, e := range []error{
		goopenai.ErrChatCompletionInvalidModel,
		goopenai.ErrChatCompletionStreamNotSupported,
		goopenai.ErrReasoningModelMaxTokensDeprecated,
		goopenai.ErrReasoningModelLimitationsLogprobs,
		goopenai.ErrReasoningModelLimitationsOther,
		goopenai.ErrReasoningEffortUnsupported,
		goopenai.ErrReasoningSamplingUnsupported,
		goopenai.ErrReasoningToolsRequireResponses,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// retryAfter reads the delay a server asked for: OpenAI's retry-after-ms
// (milliseconds), or the standard Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if d, ok := parseUnits(v, time.Millisecond); ok {
			return d, true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if d, ok := parseUnits(v, time.Second); ok {
		return d, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// parseUnits parses a non-negative number of units; absurd values fail.
func parseUnits(v string, unit time.Duration) (time.Duration, bool) {
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 || math.IsNaN(n) || n > float64(math.MaxInt64)/float64(unit) {
		return 0, false
	}
	return time.Duration(n * float64(unit)), true
}

// Embedder is a bot.Embedder on an OpenAI-compatible server's embeddings
// endpoint (POST {BaseURL}/embeddings): OpenAI, Ollama, vLLM and llama.cpp's
// server serve it. It is safe for concurrent use.
type Embedder struct {
	client  *goopenai.Client
	model   string
	timeout time.Duration
	// Now is the clock of Retry-After dates (default time.Now).
	Now func() time.Time
}

var _ bot.Embedder = (*Embedder)(nil)

// NewEmbedder returns an Embedder for cfg, whose Model is the embedding
// model (required: there is no default that every server has).
func NewEmbedder(cfg Config) *Embedder {
	a := NewAnswerer(cfg)
	return &Embedder{client: a.client, model: cfg.Model, timeout: a.timeout, Now: time.Now}
}

// Model returns the embedding model's name.
func (e *Embedder) Model() string { return e.model }

// Embed returns one vector per text, in order. See bot.Answerer for the
// error contract.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	resp, err := e.client.CreateEmbeddings(ctx, goopenai.EmbeddingRequestStrings{Input: texts, Model: goopenai.EmbeddingModel(e.model)})
	if err != nil {
		return nil, fmt.Errorf("embeddings: %w", classify(ctx, err, resp.Header(), e.Now()))
	}
	if len(resp.Data) != len(texts) {
		return nil, fmt.Errorf("embeddings: %d vectors for %d texts", len(resp.Data), len(texts))
	}
	out := make([][]float32, len(texts))
	for i, d := range resp.Data {
		// Servers return the data in order with its index; trust the index.
		j := d.Index
		if j < 0 || j >= len(out) || out[j] != nil || len(d.Embedding) == 0 {
			return nil, fmt.Errorf("embeddings: bad vector at position %d (index %d)", i, j)
		}
		out[j] = d.Embedding
	}
	return out, nil
}
