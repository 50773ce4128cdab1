package worker_test

import (
	"context"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/worker"
)

// An answer from an article goes to a trigger with MarkdownLinks (the web
// chat) with its source as a Markdown link, and to the others as plain
// text; the decision keeps the plain form.
func TestAnswerSourcesPerTrigger(t *testing.T) {
	t.Parallel()
	src := bot.Source{Title: "Pairing [beta]", URL: "https://help.example.com/a_(1)"}
	article := bot.DeciderFunc(func(_ context.Context, q bot.Query) (bot.Decision, error) {
		return bot.Decision{Action: bot.ActionAnswer, Answer: bot.WithSources("Hold the button.", []bot.Source{src}, false),
			Sources: []bot.Source{src}, Confidence: 1}, nil
	})
	for _, tc := range []struct {
		markdown bool
		want     string
	}{
		{false, "Hold the button.\n\nSource: Pairing [beta] https://help.example.com/a_(1)"},
		{true, "Hold the button.\n\nSource: [Pairing \\[beta\\]](https://help.example.com/a_%281%29)"},
	} {
		b := setup(t, article, func(b *testBundle) {
			b.engine.TriggerFunc = func(string) worker.TriggerSettings { return worker.TriggerSettings{MarkdownLinks: tc.markdown} }
		})
		ingest(t, b.store, "c-src", "m-1", "how do I pair?", 0)
		if got := b.sink.wait(t, 1)[0].Text; got != tc.want {
			t.Errorf("markdown %v: reply %q, want %q", tc.markdown, got, tc.want)
		}
	}
}
