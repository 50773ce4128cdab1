package web_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/web"
)

// FuzzVerify checks that Verify never panics and accepts a session only when
// its token is the one the trigger would issue for that visitor and expiry.
func FuzzVerify(f *testing.F) {
	tr := MustNew(f, triggers.Config{Secret: secret, Secrets: []string{oldSecret}})
	good, _ := tr.Issue(visitor, now)
	f.Add(visitor, good)
	f.Add(visitor, good[:len(good)-2])
	f.Add("wv_ZZECAwQFBgcICQoLDA0ODxAR", good)
	f.Add(visitor, "0."+strings.Repeat("A", 43))
	f.Add(visitor, "")
	f.Add("", good)
	f.Add(visitor, strconv.FormatInt(now.Unix()+60, 10)+"."+strings.Repeat("_", 43))
	f.Fuzz(func(t *testing.T, visitorID, token string) {
		r := newRequest("", "", nil)
		r.Header["X-Chat-Visitor"] = []string{visitorID}
		r.Header["X-Chat-Token"] = []string{token}
		err := tr.Verify(r, nil)
		if err != nil {
			if !errors.Is(err, bot.ErrUnauthorized) {
				t.Fatalf("Verify()=%v, want it to wrap bot.ErrUnauthorized", err)
			}
			return
		}
		expText, _, _ := strings.Cut(token, ".")
		exp, perr := strconv.ParseInt(expText, 10, 64)
		if perr != nil {
			t.Fatalf("Verify() accepted %q with an unparsable expiry", token)
		}
		at := time.Unix(exp, 0)
		if !at.After(now) {
			t.Fatalf("Verify() accepted expired token %q", token)
		}
		// Whichever key signed it, the token is one the trigger (or its
		// predecessor under the old secret) would have issued.
		want, _ := tr.Issue(visitorID, at.Add(-web.DefaultSessionTTL))
		old := MustNew(t, triggers.Config{Secret: oldSecret})
		wantOld, _ := old.Issue(visitorID, at.Add(-web.DefaultSessionTTL))
		if token != want && token != wantOld {
			t.Fatalf("Verify() accepted visitor %q token %q", visitorID, token)
		}
	})
}

// FuzzParse checks that Parse never panics and that whatever it accepts is a
// valid event of the visitor's own conversation.
func FuzzParse(f *testing.F) {
	tr := MustNew(f, triggers.Config{Secret: secret})
	for _, s := range []string{
		`{"text":"How do I reset my password?"}`,
		`{"id":"m-1","text":"hi","name":"Ada","email":"ada@example.com"}`,
		`{"text":"<script>alert(1)</script>"}`,
		`{"text":""}`,
		`{"text":"hi","conversation":{"id":"x"}}`,
		`{"text":"a"}{"text":"b"}`,
		`[]`,
		`{"text":"\u0000"}`,
		`{"text":"hi","email":"a@b@c"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		ev, err := tr.Parse(newRequest(visitor, "", []byte(body)), []byte(body))
		if err != nil {
			var ve *bot.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse()=%v, want a *bot.ValidationError", err)
			}
			return
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("Parse() returned an invalid event: %v", err)
		}
		if ev.Conversation.ID != visitor || ev.Customer.ID != visitor || !strings.HasPrefix(ev.ID, visitor+"/") {
			t.Fatalf("Parse() event %+v is not the visitor's", ev)
		}
		if ev.Message.Text == "" || len(ev.Message.Text) > web.MaxText || strings.TrimSpace(ev.Message.Text) != ev.Message.Text {
			t.Fatalf("Parse() text %q is empty, too long or untrimmed", ev.Message.Text)
		}
	})
}
