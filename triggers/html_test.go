package triggers_test

import (
	"testing"

	"github.com/supportbot/supportbot/triggers"
)

func TestHTMLText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "  where is   my order? ", "where is my order?"},
		{"paragraphs", "<p>Hi</p><p>My order is <b>late</b>.</p>", "Hi\n\nMy order is late."},
		{"br", "line one<br>line two<br/>three", "line one\nline two\nthree"},
		{"entities", "<p>Fish &amp; chips &lt;3 &quot;now&quot;&nbsp;please</p>", "Fish & chips <3 \"now\" please"},
		{"script dropped", "<p>Hi<script>alert(1)</script></p><style>p{}</style>", "Hi"},
		{"list", "<ul><li>a</li><li>b</li></ul>", "a\nb"},
		{"not html with angle", "1 < 2 and 3 > 2", "1 < 2 and 3 > 2"},
		{"empty", "<p></p>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := triggers.HTMLText(tt.in); got != tt.want {
				t.Fatalf("HTMLText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
