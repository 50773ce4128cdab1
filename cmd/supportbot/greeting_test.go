package main

import (
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestWebChatTriggerGreeting: a web trigger's own greeting opens its chat
// page; without one the page opens with webchat.greeting.
func TestWebChatTriggerGreeting(t *testing.T) {
	cfg := webConfig(t)
	cfg.WebChat.Greeting = "Hello from the chat section."
	other := cfg.Triggers[0]
	other.Name, other.Greeting = "shop", "Welcome to the shop! Ask me about orders."
	cfg.Triggers = append(cfg.Triggers, other)
	m := mustOpenMain(t, cfg)
	for name, want := range map[string]string{"web": cfg.WebChat.Greeting, "shop": other.Greeting} {
		resp, err := http.Get(m.Server.URL() + "/chat/" + name)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := `data-greeting="` + html.EscapeString(want) + `"`; resp.StatusCode != http.StatusOK || !strings.Contains(string(body), got) {
			t.Fatalf("GET /chat/%s = %d, want %s in:\n%s", name, resp.StatusCode, got, body)
		}
	}
}
