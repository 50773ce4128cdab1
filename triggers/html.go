package triggers

import (
	"strings"

	"golang.org/x/net/html"
)

// blockTags start a new line of text; paragraphs (true) also end one, so
// they stand apart: a helpdesk's HTML message body keeps its paragraphs and
// line breaks in the plain text.
var blockTags = map[string]bool{
	"br": false, "div": false, "li": false, "tr": false,
	"p": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"blockquote": true, "pre": true,
}

// HTMLText turns a helpdesk's HTML message body into plain text: tags
// dropped, entities decoded, script and style contents skipped, block
// elements and <br> as line breaks, runs of blank lines and spaces folded.
// Text that is not HTML comes back with only its white space tidied.
func HTMLText(s string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return tidy(b.String())
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch tag := string(name); {
			case tag == "script" || tag == "style":
				if z.Token().Type == html.StartTagToken {
					skip++
				}
			default:
				if _, ok := blockTags[tag]; ok {
					b.WriteByte('\n')
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch tag := string(name); {
			case tag == "script" || tag == "style":
				if skip > 0 {
					skip--
				}
			case blockTags[tag]:
				b.WriteByte('\n')
			}
		}
	}
}

// tidy trims each line, folds runs of spaces, and keeps at most one blank
// line between paragraphs.
func tidy(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\u00a0", " "), "\n")
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" && (len(out) == 0 || out[len(out)-1] == "") {
			continue
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
