package slack_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
)

func TestEscalatePostsHandoff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th := b.mustEscalate(t, "c-1", escalation("c-1"))

	posts, _, _ := b.fake.snapshot()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	p := posts[0]
	if p.Channel != testChannel || p.ThreadTS != "" {
		t.Fatalf("posted to %q thread %q, want the channel's root", p.Channel, p.ThreadTS)
	}
	if got, want := th, (bot.Thread{Channel: testChannel, TS: p.TS}); got != want {
		t.Fatalf("stored thread = %+v, want %+v (Escalate's return)", got, want)
	}
	if got, want := actionIDs(t, p.Blocks), []string{"claim", "resolve", "hand_back", "send_draft"}; !slices.Equal(got, want) {
		t.Fatalf("buttons = %v, want %v", got, want)
	}
	if !strings.Contains(p.Blocks, `"value":"`+key+`"`) {
		t.Fatalf("buttons do not carry the conversation key %q", key)
	}
	text := decodedText(t, p.Blocks)
	for _, want := range []string{
		"Ada Lovelace", "ada@example.com", // customer
		"`chat`", "c-1", "<https://helpdesk.example.com/tickets/1234?a=1&amp;b=2|Open ticket>", // source
		"Refund for order 1234",
		"`sensitive_topic`", bot.ReasonText(bot.ReasonSensitiveTopic), // reason, code and words
		"Customer wants a refund",                                          // summary
		"`refund-policy` What is your refund policy? — 0.61", "`shipping`", // FAQ candidates with scores
		"Where is my order?", "It ships in 2 days.", "I want a refund please", // last messages
		"Our refund policy allows returns within 30 days.", // draft
		"Waiting for an agent",
		"<https://support.example.com/admin/conversations/chat%2Fc-1|Conversation>",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("hand-off lacks %q:\n%s", want, text)
		}
	}
	if p.Text == "" || !strings.Contains(p.Text, "sensitive_topic") {
		t.Errorf("notification text = %q", p.Text)
	}
}

func TestEscalateWithoutDraftHasNoSendDraft(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := escalation("c-2")
	e.Draft = ""
	b.mustEscalate(t, "c-2", e)
	posts, _, _ := b.fake.snapshot()
	if got, want := actionIDs(t, posts[0].Blocks), []string{"claim", "resolve", "hand_back"}; !slices.Equal(got, want) {
		t.Fatalf("buttons = %v, want %v", got, want)
	}
}

// Customer-controlled text cannot mention the channel, link, or forge the
// packet's fields.
func TestEscalateNeutralisesCustomerText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := escalation("c-3")
	e.Customer.Name = "Eve\n*Reason*\n`human_requested` <!channel>"
	e.Customer.Email = "eve@example.com> <!here"
	e.Subject = "<https://evil.example|Click to verify your account>"
	e.Summary = "<!everyone> see <@U999> & <#C1|general>"
	e.Recent = []bot.Turn{{Author: bot.AuthorCustomer, Text: "line one\n*Summary*\n<!channel>"}}
	e.URL = "javascript:alert(1)"
	b.mustEscalate(t, "c-3", e)
	posts, _, _ := b.fake.snapshot()
	text := decodedText(t, posts[0].Blocks) + posts[0].Text
	for _, bad := range []string{"<!channel>", "<!here", "<!everyone>", "<@U999>", "<https://evil.example", "<#C1", "javascript:alert(1)|"} {
		if strings.Contains(text, bad) {
			t.Errorf("hand-off contains %q:\n%s", bad, text)
		}
	}
	// Only our own headings start a line.
	lines := strings.Split(text, "\n")
	for _, heading := range []string{"*Reason*", "*Summary*"} {
		if n := strings.Count("\n"+strings.Join(lines, "\n")+"\n", "\n"+heading+"\n"); n != 1 {
			t.Errorf("%d lines read %q, want 1 (ours):\n%s", n, heading, text)
		}
	}
	for _, want := range []string{"Eve *Reason* `human_requested` &lt;!channel&gt;", "&lt;!everyone&gt; see &lt;@U999&gt; &amp; &lt;#C1|general&gt;", ">*Summary*",
		"*Summary*\n_Written by the language model, not checked:_\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("hand-off lacks the escaped %q:\n%s", want, text)
		}
	}
}

func TestMirrorPostsInThread(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, th := b.mustEscalate(t, "c-4", escalation("c-4"))
	if err := b.esc.Mirror(context.Background(), th, bot.Turn{Author: bot.AuthorCustomer, Text: "Any news? <!channel>\nsecond line"}); err != nil {
		t.Fatal(err)
	}
	posts, _, _ := b.fake.snapshot()
	m := posts[len(posts)-1]
	if m.ThreadTS != th.TS || m.Channel != th.Channel {
		t.Fatalf("mirror posted to %s thread %q, want %s thread %q", m.Channel, m.ThreadTS, th.Channel, th.TS)
	}
	if !strings.Contains(m.Text, ">Any news? &lt;!channel&gt;\n>second line") || strings.Contains(m.Text, "<!channel>") {
		t.Fatalf("mirror text = %q", m.Text)
	}
	// No thread (escalated while Slack was off): nothing to post into.
	if err := b.esc.Mirror(context.Background(), bot.Thread{}, bot.Turn{Text: "hi"}); err != nil {
		t.Fatalf("mirror without thread: %v", err)
	}
}

// Slack API failures come back in the job error classes.
func TestSlackErrorsMapToJobClasses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		name      string
		fail      failure
		permanent bool
		after     time.Duration
	}{
		{"429 with Retry-After", failure{status: http.StatusTooManyRequests, retryAfter: "7"}, false, 7 * time.Second},
		{"429 without Retry-After", failure{status: http.StatusTooManyRequests}, false, 0},
		{"500", failure{status: http.StatusInternalServerError}, false, 0},
		{"503", failure{status: http.StatusServiceUnavailable}, false, 0},
		{"404", failure{status: http.StatusNotFound}, true, 0},
		{"invalid_auth", failure{apiError: "invalid_auth"}, true, 0},
		{"channel_not_found", failure{apiError: "channel_not_found"}, true, 0},
		{"internal_error", failure{apiError: "internal_error"}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.fake.failNext("chat.postMessage", tc.fail)
			_, err := b.esc.Escalate(context.Background(), escalation("c-err"))
			if err == nil {
				t.Fatal("Escalate succeeded")
			}
			if got := bot.IsPermanent(err); got != tc.permanent {
				t.Fatalf("permanent = %v, want %v (%v)", got, tc.permanent, err)
			}
			d, ok := bot.RetryDelay(err)
			if ok != (tc.after > 0) || d != tc.after {
				t.Fatalf("retry after = %v, %v; want %v (%v)", d, ok, tc.after, err)
			}
		})
	}
	// Mirror classifies the same way.
	b.fake.failNext("chat.postMessage", failure{status: http.StatusTooManyRequests, retryAfter: "3"})
	err := b.esc.Mirror(context.Background(), bot.Thread{Channel: testChannel, TS: "1.2"}, bot.Turn{Text: "hi"})
	if d, ok := bot.RetryDelay(err); !ok || d != 3*time.Second {
		t.Fatalf("mirror 429: %v", err)
	}
	// A cancelled call is retryable, not permanent.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = b.esc.Escalate(ctx, escalation("c-err"))
	if err == nil || bot.IsPermanent(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled escalate: %v", err)
	}
}
