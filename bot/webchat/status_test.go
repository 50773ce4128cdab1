package webchat_test

import (
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/webchat"
)

func getPage(t *testing.T, tb *testBundle) string {
	t.Helper()
	resp, err := tb.client.Get(tb.srv.URL + "/chat/site")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page = %d", resp.StatusCode)
	}
	return string(b)
}

func TestPageGreeting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		greeting string
		perSite  string
		want     string
	}{
		{"none", "", "", `data-greeting=""`},
		{"configured, escaped", `Hello <b>"you"</b>`, "", `data-greeting="` + html.EscapeString(`Hello <b>"you"</b>`) + `"`},
		{"per trigger wins", "Hello", "Welcome to the shop!", `data-greeting="Welcome to the shop!"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, func(c *webchat.Chat, _ *http.Server) {
				c.Greeting = tc.greeting
				c.GreetingFunc = func(trigger string) string {
					if trigger != "site" {
						t.Errorf("greeting asked for trigger %q", trigger)
					}
					return tc.perSite
				}
			})
			if page := getPage(t, tb); !strings.Contains(page, tc.want) {
				t.Fatalf("page lacks %s:\n%s", tc.want, page)
			}
		})
	}
}

// TestStateEvent: a change of owner made without a reply reaches the open
// stream as a state event without an id (the cursor stays on the last
// reply), with the agent's name for a claim; it is not replayed to a page
// that connects later (ready says the state), and changes of conversations
// of other triggers are not sent.
func TestStateEvent(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	s := tb.mustSession(t)
	key := "site/" + s.VisitorID
	st := tb.openStream(t, eventsURL(tb, s), "")
	if e := st.next(t); e.Event != "ready" {
		t.Fatalf("first event %+v, want ready", e)
	}
	now := time.Now().UTC()
	tb.chat.PublishState(bot.Transition{ConversationKey: "elsewhere/" + s.VisitorID, To: bot.StateAgent, Actor: "Eve", At: now})
	tb.chat.PublishState(bot.Transition{ConversationKey: key, From: bot.StateEscalated, To: bot.StateAgent, Actor: "Grace", At: now})
	e := st.next(t)
	if e.Event != "state" || e.ID != "" {
		t.Fatalf("event %+v, want a state event without id", e)
	}
	line := decodeLine(t, e)
	if line.Kind != webchat.KindState || line.State != bot.StateAgent || line.AgentName != "Grace" || line.Text != "" {
		t.Fatalf("state event = %+v", line)
	}
	tb.chat.PublishState(bot.Transition{ConversationKey: key, From: bot.StateAgent, To: bot.StateResolved, Actor: "Grace", At: now.Add(time.Second)})
	if line := decodeLine(t, st.next(t)); line.State != bot.StateResolved || line.AgentName != "" {
		t.Fatalf("resolution = %+v, want resolved without a name", line)
	}
	other, err := tb.hub.Subscribe("elsewhere/" + s.VisitorID)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if len(other.Recent) != 0 {
		t.Fatalf("a change of another trigger's conversation was published: %+v", other.Recent)
	}
	st2 := tb.openStream(t, eventsURL(tb, s), "-")
	if e := st2.next(t); e.Event != "ready" || e.ID != "-" {
		t.Fatalf("a later page got %+v first, want ready at -", e)
	}
}
