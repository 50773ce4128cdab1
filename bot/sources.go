package bot

import (
	"slices"
	"strings"
)

// Source is a help-center article an answer came from.
type Source struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// SourceLine is an answer's line naming its source: "Source: <title>
// <url>" in plain text, for helpdesks and reply webhooks, or "Source:
// [title](url)" for a channel that renders Markdown links (the web chat).
// It is "" without a URL.
func SourceLine(s Source, markdown bool) string {
	if s.URL == "" {
		return ""
	}
	if !markdown {
		return "Source: " + s.Title + " " + s.URL
	}
	return "Source: [" + markdownText(s.Title) + "](" + markdownURL(s.URL) + ")"
}

// SourceLines are the source lines of sources, one a line, without
// duplicates or sources without a URL.
func SourceLines(sources []Source, markdown bool) string {
	var lines []string
	for _, s := range sources {
		if l := SourceLine(s, markdown); l != "" && !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// WithSources appends the source lines of sources to text, after a blank
// line.
func WithSources(text string, sources []Source, markdown bool) string {
	lines := SourceLines(sources, markdown)
	if lines == "" {
		return text
	}
	return text + "\n\n" + lines
}

// AnswerText is the decision's answer as a channel shows it: with its
// source lines as Markdown links when markdown is set. The answer holds
// them as plain text (WithSources(body, d.Sources, false)); an answer that
// does not end with them is returned as it is.
func (d Decision) AnswerText(markdown bool) string {
	if !markdown || len(d.Sources) == 0 {
		return d.Answer
	}
	plain := SourceLines(d.Sources, false)
	body, ok := strings.CutSuffix(d.Answer, "\n\n"+plain)
	if plain == "" || !ok {
		return d.Answer
	}
	return WithSources(body, d.Sources, true)
}

// markdownText escapes the characters that would end a link's text.
func markdownText(s string) string {
	return strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, "\n", " ").Replace(s)
}

// markdownURL escapes the characters that would end a link's target.
func markdownURL(s string) string {
	return strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "\n", "").Replace(s)
}
