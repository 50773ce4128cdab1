package deliver

import (
	"context"
	"testing"

	"github.com/supportbot/supportbot/bot"
)

func TestRouter(t *testing.T) {
	t.Parallel()
	rr := NewRouter()
	var got []string
	rr.Set("a", bot.DelivererFunc(func(_ context.Context, r bot.Reply) error {
		got = append(got, r.Text)
		return nil
	}))
	ctx := context.Background()
	if err := rr.Deliver(ctx, bot.Reply{Trigger: "a", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "hi" {
		t.Fatalf("delivered = %v, want [hi]", got)
	}
	rr.Remove("a")
	for _, name := range []string{"a", "never-set"} {
		err := rr.Deliver(ctx, bot.Reply{Trigger: name, Text: "lost"})
		if !bot.IsPermanent(err) {
			t.Fatalf("Deliver to %s = %v, want a permanent error", name, err)
		}
	}
}
