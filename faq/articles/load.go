package articles

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"golang.org/x/net/html"
)

// MaxArticleBytes caps one article file: a help page is a few thousand
// words, and a stray export of megabytes is a mistake to report.
const MaxArticleBytes = 2 << 20

// Article is one help-center page.
type Article struct {
	// ID is the file name without its extension, unique in the directory.
	ID     string
	Path   string // relative to the directory
	Title  string
	URL    string
	Tags   []string
	Locale string
	// Sections are the article's text split at its headings, in order.
	Sections []Section

	idx int // position in the index
}

// Section is the text under one heading, with the path of headings above
// it (the article's title excluded).
type Section struct {
	Headings []string
	Text     string
}

// frontMatter is the YAML header of a Markdown article. Keys not listed
// here (updated_at, source, anything a vendor adds) are ignored.
type frontMatter struct {
	Title  string   `yaml:"title"`
	URL    string   `yaml:"url"`
	Tags   []string `yaml:"tags"`
	Locale string   `yaml:"locale"`
}

// Load reads every Markdown (.md, .markdown) and HTML (.html, .htm) file
// under dir, in name order. Errors name the file: "faq/help/refunds.md:
// front matter: ...". Hidden files and directories are skipped.
func Load(dir string) ([]Article, error) {
	var out []Article
	seen := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if path != dir && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		ext := strings.ToLower(filepath.Ext(name))
		var parse func(string, []byte) (Article, error)
		switch ext {
		case ".md", ".markdown":
			parse = parseMarkdown
		case ".html", ".htm":
			parse = parseHTML
		default:
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > MaxArticleBytes {
			return fmt.Errorf("%s: %d bytes is more than the %d an article may have", path, info.Size(), MaxArticleBytes)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !utf8.Valid(b) {
			return fmt.Errorf("%s: not UTF-8", path)
		}
		rel, _ := filepath.Rel(dir, path)
		a, err := parse(rel, b)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		a.ID = strings.TrimSuffix(filepath.ToSlash(rel), filepath.Ext(name))
		a.Path = filepath.ToSlash(rel)
		if prev, ok := seen[a.ID]; ok {
			return fmt.Errorf("%s: same article id %q as %s", path, a.ID, prev)
		}
		seen[a.ID] = path
		if err := a.validate(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load articles: %w", err)
	}
	slices.SortFunc(out, func(a, b Article) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (a *Article) validate() error {
	switch {
	case strings.TrimSpace(a.Title) == "":
		return errors.New("no title (front matter title, a first \"# \" heading, or <title>)")
	case a.URL != "" && !strings.HasPrefix(a.URL, "https://") && !strings.HasPrefix(a.URL, "http://") && !strings.HasPrefix(a.URL, "/"):
		return fmt.Errorf("url %q: want an http(s) link or a path starting with /", a.URL)
	}
	n := 0
	for _, s := range a.Sections {
		n += len(strings.TrimSpace(s.Text))
	}
	if n == 0 {
		return errors.New("no text")
	}
	return nil
}

// parseMarkdown reads front matter, then splits the body at ATX headings
// ("#" to "######"). A first-level heading before any text is the title
// when the front matter has none.
func parseMarkdown(_ string, b []byte) (Article, error) {
	var a Article
	body := string(bytes.TrimPrefix(b, []byte("\ufeff")))
	body = strings.ReplaceAll(body, "\r\n", "\n")
	if strings.HasPrefix(body, "---\n") {
		end := strings.Index(body[4:], "\n---")
		if end < 0 {
			return a, errors.New("front matter: no closing ---")
		}
		var fm frontMatter
		if err := yaml.Unmarshal([]byte(body[4:4+end]), &fm); err != nil {
			return a, fmt.Errorf("front matter: %w", err)
		}
		a.Title, a.URL, a.Tags, a.Locale = strings.TrimSpace(fm.Title), strings.TrimSpace(fm.URL), fm.Tags, strings.TrimSpace(fm.Locale)
		body = body[4+end+4:]
		if i := strings.IndexByte(body, '\n'); i >= 0 {
			body = body[i+1:]
		} else {
			body = ""
		}
	}
	var stack []string // headings by level 1..6 (index level-1)
	var text strings.Builder
	fence := false
	flush := func() {
		if t := strings.TrimSpace(text.String()); t != "" {
			a.Sections = append(a.Sections, Section{Headings: compact(stack), Text: t})
		}
		text.Reset()
	}
	for line := range strings.SplitSeq(body, "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "```") || strings.HasPrefix(trim, "~~~") {
			fence = !fence
		}
		level := 0
		if !fence {
			for level < len(trim) && level < 7 && trim[level] == '#' {
				level++
			}
		}
		if level == 0 || level > 6 || (len(trim) > level && trim[level] != ' ') {
			text.WriteString(line)
			text.WriteByte('\n')
			continue
		}
		h := strings.TrimSpace(strings.TrimRight(trim[level:], "#"))
		if level == 1 && len(a.Sections) == 0 && strings.TrimSpace(text.String()) == "" &&
			(a.Title == "" || strings.EqualFold(a.Title, h)) {
			a.Title = cmpOr(a.Title, h) // the page's title, not a section
			continue
		}
		flush()
		for len(stack) < level {
			stack = append(stack, "")
		}
		stack = stack[:level]
		stack[level-1] = h
	}
	flush()
	return a, nil
}

// parseHTML reads an HTML page: the title from <title> (else the first
// <h1>), the link from <link rel="canonical"> or <meta name="url"> (or
// og:url), and the text of <body> split at <h1>–<h6>. Scripts, styles and
// navigation are skipped.
func parseHTML(_ string, b []byte) (Article, error) {
	var a Article
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		return a, fmt.Errorf("html: %w", err)
	}
	var title, h1 string
	var stack []string
	var text strings.Builder
	flush := func() {
		if t := strings.Join(strings.Fields(text.String()), " "); t != "" {
			a.Sections = append(a.Sections, Section{Headings: compact(stack), Text: t})
		}
		text.Reset()
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "style", "nav", "noscript", "template", "footer", "header":
				if n.Data != "header" || !inBody(n) {
					return
				}
			case "title":
				if title == "" {
					title = strings.Join(strings.Fields(nodeText(n)), " ")
				}
				return
			case "link":
				if strings.EqualFold(attr(n, "rel"), "canonical") && a.URL == "" {
					a.URL = strings.TrimSpace(attr(n, "href"))
				}
				return
			case "meta":
				switch strings.ToLower(attr(n, "name") + attr(n, "property")) {
				case "url", "og:url":
					if a.URL == "" {
						a.URL = strings.TrimSpace(attr(n, "content"))
					}
				case "keywords", "tags":
					for t := range strings.SplitSeq(attr(n, "content"), ",") {
						if t = strings.TrimSpace(t); t != "" {
							a.Tags = append(a.Tags, t)
						}
					}
				case "locale", "og:locale":
					a.Locale = strings.TrimSpace(attr(n, "content"))
				}
				return
			case "html":
				a.Locale = cmpOr(a.Locale, attr(n, "lang"))
			case "h1", "h2", "h3", "h4", "h5", "h6":
				level := int(n.Data[1] - '0')
				h := strings.Join(strings.Fields(nodeText(n)), " ")
				if level == 1 && h1 == "" && len(a.Sections) == 0 && strings.TrimSpace(text.String()) == "" {
					h1 = h
					return
				}
				flush()
				for len(stack) < level {
					stack = append(stack, "")
				}
				stack = stack[:level]
				stack[level-1] = h
				return
			case "p", "li", "br", "div", "tr", "td", "th", "section", "article", "dt", "dd", "blockquote", "pre":
				text.WriteByte(' ')
				defer text.WriteByte(' ')
			}
		}
		if n.Type == html.TextNode {
			text.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	flush()
	a.Title = cmpOr(title, h1)
	if h1 != "" && title != "" && h1 != title {
		// <title> often carries the site's name ("Refunds | Acme Help"):
		// the page's own <h1> says what the article is.
		a.Title = h1
	}
	return a, nil
}

func inBody(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == "article" {
			return true
		}
	}
	return false
}

func nodeText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// compact returns the non-empty headings of stack, copied.
func compact(stack []string) []string {
	var out []string
	for _, h := range stack {
		if h != "" {
			out = append(out, h)
		}
	}
	return out
}
