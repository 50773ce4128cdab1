package bot

import "testing"

func TestAnswerText(t *testing.T) {
	s := []Source{{Title: "Refunds", URL: "https://help.example.com/refunds"}, {Title: "No link"}}
	d := Decision{Answer: WithSources("You get it back in 5 days.", s, false), Sources: s}
	if want := "You get it back in 5 days.\n\nSource: Refunds https://help.example.com/refunds"; d.Answer != want || d.AnswerText(false) != want {
		t.Fatalf("plain = %q, want %q", d.Answer, want)
	}
	if got, want := d.AnswerText(true), "You get it back in 5 days.\n\nSource: [Refunds](https://help.example.com/refunds)"; got != want {
		t.Fatalf("markdown = %q, want %q", got, want)
	}
	// An answer that does not end with its plain source lines is left alone.
	d.Answer += " (edited)"
	if got := d.AnswerText(true); got != d.Answer {
		t.Fatalf("edited answer = %q", got)
	}
	// Text that would close the link's text or target is escaped.
	if got, want := SourceLine(Source{Title: `a]b\`, URL: "https://x.example/p (1)"}, true), `Source: [a\]b\\](https://x.example/p%20%281%29)`; got != want {
		t.Fatalf("escaped = %q, want %q", got, want)
	}
}
