package kbimport

import (
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Markdown turns an article's HTML body into readable Markdown-ish text:
// headings as "#" lines (so the article index splits passages on them),
// paragraphs apart, list items as "- " or "1. " lines, links as
// "text (url)", preformatted text fenced, table rows as cells joined by
// " | ", and scripts, styles, forms and embedded frames dropped. Entities
// are decoded; runs of spaces and of blank lines are folded.
func Markdown(s string) string {
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		// html.Parse only fails on a reader error; a string never has one.
		return tidyText(s)
	}
	w := &mdWriter{atLineStart: true}
	w.walk(doc)
	return tidyText(w.b.String())
}

// dropped are elements whose content is not article text.
var dropped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Iframe: true, atom.Object: true, atom.Embed: true, atom.Svg: true,
	atom.Math: true, atom.Form: true, atom.Button: true, atom.Select: true,
	atom.Textarea: true, atom.Input: true, atom.Head: true, atom.Canvas: true,
	atom.Audio: true, atom.Video: true,
}

// blocks are elements that stand apart from the text around them.
var blocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true,
	atom.Header: true, atom.Footer: true, atom.Main: true, atom.Aside: true,
	atom.Nav: true, atom.Figure: true, atom.Figcaption: true, atom.Details: true,
	atom.Summary: true, atom.Dl: true, atom.Dt: true, atom.Dd: true,
	atom.Address: true, atom.Hr: true, atom.Table: true, atom.Caption: true,
	atom.Ul: true, atom.Ol: true, atom.Blockquote: true,
}

type list struct {
	ordered bool
	n       int
}

type mdWriter struct {
	b           strings.Builder
	lists       []list
	quote       int
	pre         int
	atLineStart bool
	cell        int // cells written in the current table row
	inCell      int // depth of table cells: their blocks stay on the row's line
}

func (w *mdWriter) write(s string) {
	if s == "" {
		return
	}
	w.b.WriteString(s)
	w.atLineStart = strings.HasSuffix(s, "\n")
}

// newline ends the current line, if it has text; inside a table cell it
// only separates words.
func (w *mdWriter) newline() {
	if w.inCell > 0 && w.pre == 0 {
		if !w.atLineStart && !strings.HasSuffix(w.b.String(), " ") {
			w.write(" ")
		}
		return
	}
	if !w.atLineStart {
		w.write("\n")
	}
}

// paragraph leaves a blank line before what follows.
func (w *mdWriter) paragraph() {
	w.newline()
	if w.inCell == 0 {
		w.write("\n")
	}
}

// linePrefix starts a line inside block quotes.
func (w *mdWriter) linePrefix() {
	if w.quote > 0 && w.atLineStart {
		w.write(strings.Repeat("> ", w.quote))
		w.atLineStart = false
	}
}

func (w *mdWriter) text(s string) {
	if w.pre > 0 {
		w.write(s)
		return
	}
	collapsed := strings.Join(strings.Fields(s), " ")
	if collapsed == "" {
		if s != "" && !w.atLineStart {
			w.write(" ")
		}
		return
	}
	if s[0] == ' ' || s[0] == '\n' || s[0] == '\t' || s[0] == '\r' {
		if !w.atLineStart {
			collapsed = " " + collapsed
		}
	}
	if last := s[len(s)-1]; last == ' ' || last == '\n' || last == '\t' || last == '\r' {
		collapsed += " "
	}
	w.linePrefix()
	w.write(collapsed)
}

func (w *mdWriter) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c)
	}
}

func (w *mdWriter) walk(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
		return
	case html.ElementNode:
	default:
		w.children(n)
		return
	}
	a := n.DataAtom
	if dropped[a] {
		return
	}
	switch a {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		w.paragraph()
		level := int(n.Data[1] - '0')
		w.write(strings.Repeat("#", level) + " ")
		w.heading(n)
		w.paragraph()
	case atom.Br:
		w.write("\n")
	case atom.Hr:
		w.paragraph()
	case atom.Pre:
		w.paragraph()
		w.write("```\n")
		w.pre++
		w.children(n)
		w.pre--
		w.newline()
		w.write("```\n\n")
	case atom.Ul, atom.Ol:
		if len(w.lists) == 0 {
			w.paragraph()
		} else {
			w.newline()
		}
		w.lists = append(w.lists, list{ordered: a == atom.Ol})
		w.children(n)
		w.lists = w.lists[:len(w.lists)-1]
		if len(w.lists) == 0 {
			w.paragraph()
		} else {
			w.newline()
		}
	case atom.Li:
		w.newline()
		w.linePrefix()
		depth := max(len(w.lists), 1)
		marker := "- "
		if len(w.lists) > 0 && w.lists[depth-1].ordered {
			w.lists[depth-1].n++
			marker = strconv.Itoa(w.lists[depth-1].n) + ". "
		}
		w.write(strings.Repeat("  ", depth-1) + marker)
		w.atLineStart = true // the item's text trims its leading space
		w.children(n)
		w.newline()
	case atom.Blockquote:
		w.paragraph()
		w.quote++
		w.children(n)
		w.quote--
		w.paragraph()
	case atom.Tr:
		w.newline()
		w.cell = 0
		w.children(n)
		w.newline()
	case atom.Td, atom.Th:
		if w.cell > 0 {
			w.write(" | ")
			w.atLineStart = true
		}
		w.cell++
		w.inCell++
		w.children(n)
		w.inCell--
	case atom.A:
		w.link(n)
	case atom.Img:
		if alt := strings.TrimSpace(attr(n, "alt")); alt != "" {
			w.text(alt)
		}
	default:
		if blocks[a] {
			w.paragraph()
			w.children(n)
			w.paragraph()
			return
		}
		w.children(n)
	}
}

// heading writes a heading's text on one line.
func (w *mdWriter) heading(n *html.Node) {
	var sub mdWriter
	sub.atLineStart = true
	sub.children(n)
	w.write(strings.Join(strings.Fields(sub.b.String()), " "))
}

// link writes a link's text followed by its target in parentheses, unless
// the target is a fragment, a script, or the text itself.
func (w *mdWriter) link(n *html.Node) {
	href := strings.TrimSpace(attr(n, "href"))
	var sub mdWriter
	sub.atLineStart = true
	sub.children(n)
	text := strings.Join(strings.Fields(sub.b.String()), " ")
	lower := strings.ToLower(href)
	switch {
	case href == "" || strings.HasPrefix(href, "#") || strings.HasPrefix(lower, "javascript:") || strings.HasPrefix(lower, "data:"):
		w.text(text)
	case text == "" || text == href || "mailto:"+text == href:
		w.text(strings.TrimPrefix(href, "mailto:"))
	default:
		w.text(text + " (" + href + ")")
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

// tidyText trims the end of each line, folds runs of spaces outside fenced
// blocks, and keeps at most one blank line in a row.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\u00a0", " "), "\n")
	out := make([]string, 0, len(lines))
	fenced := false
	for _, l := range lines {
		if strings.TrimSpace(l) == "```" {
			fenced = !fenced
			out = append(out, "```")
			continue
		}
		l = strings.TrimRight(l, " \t")
		if !fenced {
			indent := len(l) - len(strings.TrimLeft(l, " "))
			l = strings.Repeat(" ", indent) + strings.Join(strings.Fields(l), " ")
			if strings.TrimSpace(l) == "" {
				l = ""
			}
		}
		if l == "" && (len(out) == 0 || out[len(out)-1] == "") {
			continue
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
