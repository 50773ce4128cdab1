package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/worker"
)

func TestParseBusinessHours(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	tests := []struct {
		name, spec, tz string
		at             time.Time
		open           bool
		wantErr        bool
	}{
		{"weekday inside", "Mon-Fri 09:00-17:00", "UTC", time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), true, false},
		{"weekday before", "Mon-Fri 09:00-17:00", "UTC", time.Date(2026, 11, 23, 8, 59, 0, 0, time.UTC), false, false},
		{"end is exclusive", "Mon-Fri 09:00-17:00", "UTC", time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC), false, false},
		{"weekend", "Mon-Fri 09:00-17:00", "UTC", time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), false, false},
		{"list", "Sat,Sun 10:00-12:00", "UTC", time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC), true, false},
		{"wrapping range", "Fri-Mon 10:00-12:00", "UTC", time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC), true, false},
		{"time zone", "Mon-Fri 09:00-17:00", "Europe/Berlin", time.Date(2026, 11, 23, 8, 30, 0, 0, time.UTC), true, false},
		{"bad day", "Funday 09:00-17:00", "UTC", time.Time{}, false, true},
		{"bad time", "Mon 9-5", "UTC", time.Time{}, false, true},
		{"end before start", "Mon 17:00-09:00", "UTC", time.Time{}, false, true},
		{"bad zone", "Mon 09:00-17:00", "Mars/Olympus", time.Time{}, false, true},
	}
	_ = berlin
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := worker.ParseBusinessHours(tt.spec, tt.tz)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := b.Open(tt.at); got != tt.open {
				t.Fatalf("Open(%s) = %v, want %v", tt.at, got, tt.open)
			}
		})
	}
	if b, err := worker.ParseBusinessHours("", ""); b != nil || err != nil {
		t.Fatalf("empty spec = %v, %v; want always open", b, err)
	}
}

// TestNoAgentNotice: an escalation nobody claims gets one notice to the
// customer after the configured time, and stays open.
func TestNoAgentNotice(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	ingest(t, b.store, "c", "m1", "get me a human", 0)
	if r := b.sink.wait(t, 1)[0]; r.Kind != bot.ReplyHandoff {
		t.Fatalf("first reply = %+v", r)
	}
	now := time.Now()
	f := &worker.FollowUps{Store: b.store, NoticeAfter: time.Minute, NoAgentText: "We are busy; a person will reply.",
		Now: func() time.Time { return now }}
	if err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.sink.quiet(t, 100*time.Millisecond) // not due yet
	now = now.Add(2 * time.Minute)
	for range 2 {
		if err := f.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	r := b.sink.wait(t, 1)[0]
	if r.Kind != bot.ReplyNotice || r.Text != "We are busy; a person will reply." || r.State != bot.StateEscalated {
		t.Fatalf("notice = %+v", r)
	}
	b.sink.quiet(t, 200*time.Millisecond)
	esc, err := b.store.ListEscalations(context.Background(), "open", 10)
	if err != nil || len(esc) != 1 {
		t.Fatalf("open escalations = %d, %v; want it still open", len(esc), err)
	}
}

// TestAfterHoursNoticeAtOnce: outside business hours the notice goes out
// without waiting.
func TestAfterHoursNoticeAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	ingest(t, b.store, "c", "m1", "human please", 0)
	b.sink.wait(t, 1)
	hours, err := worker.ParseBusinessHours("Mon-Fri 09:00-17:00", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	sunday := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f := &worker.FollowUps{Store: b.store, Hours: hours, Now: func() time.Time { return sunday }}
	if err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := b.sink.wait(t, 1)[0]; r.Kind != bot.ReplyNotice || r.Text != worker.DefaultAfterHoursText {
		t.Fatalf("notice = %+v", r)
	}
}

// TestIdleConversationResolvedThenReopened: a bot-owned conversation whose
// customer goes quiet after an answer is resolved; writing again reopens it.
func TestIdleConversationResolvedThenReopened(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	ingest(t, b.store, "c", "m1", "question", 0)
	b.sink.wait(t, 1)
	now := time.Now()
	f := &worker.FollowUps{Store: b.store, ResolveIdleAfter: time.Hour, Now: func() time.Time { return now }}
	if err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if c, _ := b.store.Conversation(ctx, "chat/c"); c.State != bot.StateBot {
		t.Fatalf("resolved too early: %s", c.State)
	}
	now = now.Add(2 * time.Hour)
	if err := f.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if c, _ := b.store.Conversation(ctx, "chat/c"); c.State != bot.StateResolved {
		t.Fatalf("state = %s, want resolved", c.State)
	}
	ingest(t, b.store, "c", "m2", "one more thing", 0)
	if r := b.sink.wait(t, 1)[0]; r.Text != "re: one more thing" || r.State != bot.StateBot {
		t.Fatalf("reply after reopening = %+v", r)
	}
	trs, err := b.store.Transitions(ctx, "chat/c")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range trs {
		got = append(got, string(tr.From)+">"+string(tr.To)+":"+tr.Actor+":"+tr.Reason)
	}
	if want := "bot>resolved:system:idle,resolved>bot:customer:customer wrote again"; strings.Join(got, ",") != want {
		t.Fatalf("transitions = %s, want %s", strings.Join(got, ","), want)
	}
}
