package kbimport_test

import (
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot/kbimport"
)

func TestMarkdown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain text", "Just text", "Just text"},
		{"headings keep their level", "<h1>Top</h1><p>a</p><h3>Deep <em>one</em></h3><p>b</p>", "# Top\n\na\n\n### Deep one\n\nb"},
		{"paragraphs and breaks", "<p>one<br>two</p><p>three</p>", "one\ntwo\n\nthree"},
		{"white space folded", "<p>  lots   of\n\n   space  </p>", "lots of space"},
		{"entities decoded", "<p>Fish &amp; chips&nbsp;&lt;3</p>", "Fish & chips <3"},
		{"links as text and url", `<p>See <a href="https://x.example/a">the guide</a>.</p>`, "See the guide (https://x.example/a)."},
		{"bare link", `<a href="https://x.example">https://x.example</a>`, "https://x.example"},
		{"fragment and script links", `<a href="#top">Top</a> <a href="javascript:alert(1)">Click</a>`, "Top Click"},
		{"mail link", `<a href="mailto:help@x.example">help@x.example</a>`, "help@x.example"},
		{"unordered list", "<ul><li>a</li><li>b</li></ul>", "- a\n- b"},
		{"ordered list", "<ol><li>first</li><li>second</li></ol>", "1. first\n2. second"},
		{"nested list", "<ul><li>a<ul><li>a1</li></ul></li><li>b</li></ul>", "- a\n  - a1\n- b"},
		{"scripts and styles dropped", "<style>p{color:red}</style><p>kept</p><script>var x = 1;</script><noscript>no</noscript>", "kept"},
		{"forms and frames dropped", `<form><input value="x"><button>Go</button></form><iframe src="https://v.example"></iframe><p>ok</p>`, "ok"},
		{"preformatted kept", "<pre>line 1\n  line 2</pre>", "```\nline 1\n  line 2\n```"},
		{"table rows", "<table><tr><th>Plan</th><th>Price</th></tr><tr><td>Pro</td><td>$10</td></tr></table>", "Plan | Price\nPro | $10"},
		{"paragraphs in cells stay on the row", "<table><tr><td><p>Pro</p><p>yearly</p></td><td><ul><li>$10</li></ul></td></tr></table>", "Pro yearly | - $10"},
		{"block quote", "<blockquote><p>Note</p></blockquote>", "> Note"},
		{"image alt", `<p>Click <img src="x.png" alt="the gear icon"> then Save</p>`, "Click the gear icon then Save"},
		{"divs apart", "<div>a</div><div>b</div>", "a\n\nb"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kbimport.Markdown(tc.in); got != tc.want {
				t.Fatalf("Markdown(%q)=%q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestFileName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ id, want string }{
		{"360001234567", "zendesk-360001234567.md"},
		{"5214c83d45667acd25394b54", "zendesk-5214c83d45667acd25394b54.md"},
		{"../../etc/passwd", "zendesk-______etc_passwd.md"},
		{"a b/c", "zendesk-a_b_c.md"},
		{strings.Repeat("x", 300), "zendesk-" + strings.Repeat("x", 100) + ".md"},
	} {
		if got := kbimport.FileName("zendesk", tc.id); got != tc.want {
			t.Errorf("FileName(%q)=%q, want %q", tc.id, got, tc.want)
		}
	}
}

func FuzzMarkdown(f *testing.F) {
	f.Add("<h2>x</h2><ul><li>a<ol><li>b</li></ol></li></ul><pre>c</pre><table><tr><td>d</td></tr></table>")
	f.Add("<a href='x'>y</a><blockquote><blockquote>z</blockquote></blockquote>")
	f.Fuzz(func(t *testing.T, s string) {
		out := kbimport.Markdown(s)
		if strings.Contains(out, "\n\n\n") {
			t.Fatalf("more than one blank line in a row: %q", out)
		}
	})
}
