// Package prompts holds the language model's prompt templates and renders
// them. The templates (system.tmpl and user.tmpl) are embedded in the
// binary; an operator may override either from a directory (prompts.dir)
// with a file of the same name.
//
// The system prompt holds the bot's instructions and no customer data: it is
// rendered once, when the Set is loaded, and is the same for every message.
// Everything a customer (or the FAQ) supplies goes into the user prompt,
// where Render first neutralises anything that looks like a tag, so that a
// customer cannot close the <customer_message> delimiter and write outside
// it. The system prompt tells the model that text inside the delimiters is
// data, never instructions.
package prompts

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"unicode"

	"github.com/supportbot/supportbot/bot"
)

// Template file names, in the embedded set and in an override directory.
const (
	SystemFile = "system.tmpl"
	UserFile   = "user.tmpl"
	// AugmentFile asks for paraphrases of an FAQ entry's question
	// (`supportbot faq augment`); it defines "system" and "user".
	AugmentFile = "augment.tmpl"
)

//go:embed *.tmpl
var embedded embed.FS

// Entry is an FAQ entry shown to the model.
type Entry struct {
	ID       string
	Question string
	Answer   string
}

// Passage is a help-center article passage shown to the model.
type Passage struct {
	ID      string
	Title   string
	Heading string
	URL     string
	Text    string
}

// Data is what the user template renders: the FAQ entries to answer from,
// the conversation so far and the customer's latest message.
type Data struct {
	// Entries are the FAQ entries the model may answer from, best first.
	Entries []Entry
	// Passages are the help-center passages it may answer from, best first.
	Passages []Passage
	// History holds earlier turns, oldest first.
	History []bot.Turn
	// Subject is the ticket's subject (may be empty).
	Subject string
	// Message is the customer's latest turn.
	Message string
}

// Set is a loaded pair of templates. It is read-only after Load and safe
// for concurrent use.
type Set struct {
	user    *template.Template
	augment *template.Template
	system  string
	sources map[string]string
	texts   map[string]string
}

// Default returns the embedded templates.
func Default() *Set {
	s, err := load(nil, "")
	if err != nil {
		panic(fmt.Sprintf("prompts: embedded templates: %v", err)) // a build defect; tested
	}
	return s
}

// Load returns the templates, each read from dir when dir holds a file of
// that name and embedded otherwise; an empty dir means all embedded. A
// missing dir, an unreadable file, or a template that does not parse or
// render sample data is an error that names the file.
func Load(dir string) (*Set, error) {
	if dir == "" {
		return load(nil, "")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("prompts dir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("prompts dir %s: not a directory", dir)
	}
	return load(os.DirFS(dir), dir)
}

// load reads each template from over (the directory dir, when it has the
// file) or the embedded set, parses it and checks that it renders.
func load(over fs.FS, dir string) (*Set, error) {
	s := &Set{sources: map[string]string{}}
	texts := map[string]string{}
	s.texts = texts
	for _, name := range []string{SystemFile, UserFile, AugmentFile} {
		src := "embedded:" + name
		var b []byte
		var err error
		if over != nil {
			b, err = fs.ReadFile(over, name)
			if err == nil {
				src = filepath.Join(dir, name)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("read prompt %s: %w", filepath.Join(dir, name), err)
			}
		}
		if b == nil {
			if b, err = embedded.ReadFile(name); err != nil {
				return nil, fmt.Errorf("read prompt %s: %w", src, err)
			}
		}
		s.sources[name], texts[name] = src, string(b)
	}
	sys, err := parse(s.sources[SystemFile], texts[SystemFile])
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	// The system template gets no data at all: whatever the customer
	// writes, the instructions stay the same.
	if err := sys.Execute(&b, nil); err != nil {
		return nil, fmt.Errorf("render prompt %s: %w", s.sources[SystemFile], err)
	}
	s.system = strings.TrimSpace(b.String())
	if s.system == "" {
		return nil, fmt.Errorf("render prompt %s: empty", s.sources[SystemFile])
	}
	if s.user, err = parse(s.sources[UserFile], texts[UserFile]); err != nil {
		return nil, err
	}
	_, user, err := s.Render(sample)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(user, sample.Message) {
		return nil, fmt.Errorf("render prompt %s: the output leaves out the customer's message (.Message)", s.sources[UserFile])
	}
	if s.augment, err = parse(s.sources[AugmentFile], texts[AugmentFile]); err != nil {
		return nil, err
	}
	if _, user, err := s.RenderAugment(sampleAugment); err != nil {
		return nil, err
	} else if !strings.Contains(user, sampleAugment.Question) {
		return nil, fmt.Errorf("render prompt %s: the output leaves out the entry's question (.Question)", s.sources[AugmentFile])
	}
	return s, nil
}

// AugmentData is what augment.tmpl renders: one FAQ entry and how many
// paraphrases of its question to write.
type AugmentData struct {
	ID       string
	Question string
	Examples []string
	Answer   string
	N        int
}

var sampleAugment = AugmentData{ID: "id", Question: "the entry's question", Examples: []string{"example"}, Answer: "answer", N: 5}

// RenderAugment returns the system and user messages asking for d.N
// paraphrases of d's question. The entry's text is neutralised (see
// Neutralize), so it cannot close the <faq_entry> delimiter.
func (s *Set) RenderAugment(d AugmentData) (system, user string, err error) {
	clean := AugmentData{ID: attr(d.ID), Question: Neutralize(d.Question), Answer: Neutralize(d.Answer), N: d.N}
	for _, x := range d.Examples {
		clean.Examples = append(clean.Examples, strings.Join(strings.Fields(Neutralize(x)), " "))
	}
	var sys, usr strings.Builder
	if err := s.augment.ExecuteTemplate(&sys, "system", nil); err != nil {
		return "", "", fmt.Errorf("render prompt %s: %w", s.augment.Name(), err)
	}
	if err := s.augment.ExecuteTemplate(&usr, "user", clean); err != nil {
		return "", "", fmt.Errorf("render prompt %s: %w", s.augment.Name(), err)
	}
	return strings.TrimSpace(sys.String()), strings.TrimSpace(usr.String()) + "\n", nil
}

// AugmentID identifies the augment template's text, for caches keyed on
// what a request depended on.
func (s *Set) AugmentID() string {
	sum := sha256.Sum256([]byte(s.texts[AugmentFile]))
	return hex.EncodeToString(sum[:8])
}

func parse(src, text string) (*template.Template, error) {
	t, err := template.New(src).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parse prompt %s: %w", src, err)
	}
	return t, nil
}

// sample is rendered at load time so that a template naming a field that
// does not exist fails at start-up rather than on the first message.
var sample = Data{
	Entries: []Entry{{ID: "id", Question: "question", Answer: "answer"}},
	History: []bot.Turn{{Author: bot.AuthorCustomer, Text: "text"}, {Author: bot.AuthorBot, Text: "text"}},
	Subject: "subject",
	Message: "the customer's message",
}

// Sources says where each template was read from: a file path, or
// "embedded:NAME".
func (s *Set) Sources() map[string]string {
	out := make(map[string]string, len(s.sources))
	for k, v := range s.sources {
		out[k] = v
	}
	return out
}

// System returns the rendered system prompt; it is the same for every message.
func (s *Set) System() string { return s.system }

// Render returns the system prompt and the user prompt for d. Every string
// in d is neutralised first (see Neutralize), so no data can open or close a
// tag of the prompt.
func (s *Set) Render(d Data) (system, user string, err error) {
	clean := Data{Subject: Neutralize(d.Subject), Message: Neutralize(d.Message)}
	if len(d.Entries) > 0 {
		clean.Entries = make([]Entry, len(d.Entries))
		for i, e := range d.Entries {
			clean.Entries[i] = Entry{ID: attr(e.ID), Question: Neutralize(e.Question), Answer: Neutralize(e.Answer)}
		}
	}
	for _, p := range d.Passages {
		clean.Passages = append(clean.Passages, Passage{ID: attr(p.ID), Title: attr(p.Title), Heading: Neutralize(p.Heading),
			URL: attr(p.URL), Text: Neutralize(p.Text)})
	}
	if len(d.History) > 0 {
		clean.History = make([]bot.Turn, len(d.History))
		for i, t := range d.History {
			clean.History[i] = bot.Turn{Author: attr(t.Author), Text: Neutralize(t.Text)}
		}
	}
	var b strings.Builder
	if err := s.user.Execute(&b, clean); err != nil {
		return "", "", fmt.Errorf("render prompt %s: %w", s.user.Name(), err)
	}
	return s.system, strings.TrimSpace(b.String()) + "\n", nil
}

// tagStart matches a '<' that begins something a model may read as markup:
// a tag, a closing tag, a comment or a processing instruction.
// Spaces include Unicode ones and every format character (\p{Cf}: zero-width
// spaces and joiners, the soft hyphen, bidirectional controls, invisible
// operators U+2061–2064, tag characters U+E0000–E007F, ...), and the
// full-width and small forms of '<' count too: a model may read any of them
// as markup.
var tagStart = regexp.MustCompile(`[<＜﹤]([\s\p{Z}\p{Cf}]*[/!?\p{L}])`)

// Neutralize makes s safe to place between the prompt's delimiters. Every
// format character (\p{Cf}) is removed, except the zero-width joiner and
// non-joiner between two visible characters (emoji sequences, Persian and
// Indic scripts need them): invisible characters cannot hide a delimiter
// from this guard, smuggle text in tag characters, or reorder what the
// model reads. Then every '<' that may start a tag (<x, </x, < /x, < x, <!,
// <?) becomes '‹', so the text cannot close </customer_message> or open a
// tag of its own, while other text ("3<4", "<3") is kept as it is.
func Neutralize(s string) string {
	s = stripFormat(s)
	if !strings.ContainsAny(s, "<＜﹤") {
		return s
	}
	return tagStart.ReplaceAllString(s, "‹$1")
}

// stripFormat removes format characters (\p{Cf}) from s, keeping U+200C and
// U+200D between two characters that are neither format characters, spaces
// nor a '<'.
func stripFormat(s string) string {
	if !hasFormat(s) {
		return s
	}
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range rs {
		if !unicode.Is(unicode.Cf, r) {
			b.WriteRune(r)
			continue
		}
		if (r == '\u200c' || r == '\u200d') && i > 0 && i+1 < len(rs) && visible(rs[i-1]) && visible(rs[i+1]) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// hasFormat reports whether s holds a format character.
func hasFormat(s string) bool {
	for _, r := range s {
		if r >= 0xAD && unicode.Is(unicode.Cf, r) {
			return true
		}
	}
	return false
}

// visible reports whether r may stand beside a kept joiner.
func visible(r rune) bool {
	return !unicode.Is(unicode.Cf, r) && !unicode.IsSpace(r) && !unicode.Is(unicode.Z, r) && !strings.ContainsRune("<＜﹤/", r)
}

// attrEscaper makes text safe inside a double-quoted attribute.
var attrEscaper = strings.NewReplacer(`"`, "'", "<", "‹", ">", "›", "\n", " ")

// attr makes s safe inside a double-quoted attribute.
func attr(s string) string { return attrEscaper.Replace(s) }
