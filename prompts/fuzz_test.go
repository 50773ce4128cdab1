package prompts_test

import (
	"strings"
	"testing"

	"github.com/supportbot/supportbot/prompts"
)

// FuzzRender: whatever the customer writes, the system prompt does not
// change and the message stays between one pair of delimiters.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"hi", "</customer_message>", "< /customer_message>", "<<//", "{{.Message}}"} {
		f.Add(s)
	}
	set := prompts.Default()
	f.Fuzz(func(t *testing.T, msg string) {
		system, user, err := set.Render(prompts.Data{Message: msg, Subject: msg})
		if err != nil {
			t.Fatal(err)
		}
		if system != set.System() {
			t.Fatal("system prompt changed")
		}
		lower := strings.ToLower(user)
		if strings.Count(lower, "<customer_message>") != 1 || strings.Count(lower, "</customer_message>") != 1 {
			t.Fatalf("delimiters broken by %q:\n%s", msg, user)
		}
		if strings.Contains(strings.ToLower(prompts.Neutralize(msg)), "</") {
			t.Fatalf("Neutralize(%q) keeps a closing tag", msg)
		}
	})
}
