package faq

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// MustWriteFile writes a file under dir and returns its path.
func MustWriteFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

const validYAML = `entries:
  - id: "reset"
    question: "How do I reset my password?"
    examples: ["forgot password", "new password"]
    answer: "Use the link."
    tags: ["account"]
  - id: "invoice"
    question: "Where are my invoices?"
    answer: "Under Billing."
`

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		yaml    string
		wantIDs []string
		wantErr string // substring; "" means no error
	}{
		{name: "valid", yaml: validYAML, wantIDs: []string{"reset", "invoice"}},
		{name: "empty file", yaml: "", wantIDs: nil},
		{name: "comment only", yaml: "# nothing yet\n", wantIDs: nil},
		{name: "empty list", yaml: "entries: []\n", wantIDs: nil},
		{name: "unknown top key", yaml: "entries: []\nentires: []\n", wantErr: `kb.yaml: yaml: unmarshal errors:`},
		{name: "unknown entry key", yaml: "entries:\n  - id: a\n    question: q\n    answer: a\n    anwser: x\n", wantErr: "field anwser not found"},
		{name: "empty id", yaml: "entries:\n  - id: \"\"\n    question: q\n    answer: a\n", wantErr: "kb.yaml: entry 1: empty id"},
		{name: "missing id", yaml: "entries:\n  - question: q\n    answer: a\n", wantErr: "kb.yaml: entry 1: empty id"},
		{name: "id with spaces", yaml: "entries:\n  - id: \" a\"\n    question: q\n    answer: a\n", wantErr: `entry 1 (id " a"): id has leading or trailing space`},
		{name: "no question", yaml: "entries:\n  - id: a\n    answer: a\n", wantErr: `kb.yaml: entry 1 (id "a"): no question`},
		{name: "blank question", yaml: "entries:\n  - id: a\n    question: \"  \"\n    answer: a\n", wantErr: `entry 1 (id "a"): no question`},
		{name: "empty answer", yaml: "entries:\n  - id: a\n    question: q\n    answer: x\n  - id: b\n    question: q\n    answer: \"\"\n", wantErr: `kb.yaml: entry 2 (id "b"): empty answer`},
		{name: "empty example", yaml: "entries:\n  - id: a\n    question: q\n    examples: [x, \"\"]\n    answer: a\n", wantErr: `entry 1 (id "a"): example 2 is empty`},
		{name: "empty tag", yaml: "entries:\n  - id: a\n    question: q\n    answer: a\n    tags: [\"\"]\n", wantErr: `entry 1 (id "a"): tag 1 is empty`},
		{name: "duplicate id in file", yaml: "entries:\n  - id: a\n    question: q\n    answer: a\n  - id: a\n    question: q2\n    answer: b\n", wantErr: `kb.yaml: entry 2 (id "a"): duplicate id (first at entry 1)`},
		{name: "two documents", yaml: "entries: []\n---\nentries: []\n", wantErr: "kb.yaml: more than one YAML document"},
		{name: "not a mapping", yaml: "- a\n- b\n", wantErr: "kb.yaml: yaml: unmarshal errors"},
		{name: "wrong type", yaml: "entries:\n  - id: a\n    question: q\n    answer: a\n    examples: x\n", wantErr: "kb.yaml: yaml: unmarshal errors"},
		{name: "bad yaml", yaml: "entries: [\n", wantErr: "kb.yaml: yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			entries, err := Parse("kb.yaml", []byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse() error = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			var ids []string
			for _, e := range entries {
				ids = append(ids, e.ID)
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Fatalf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEntryError(t *testing.T) {
	t.Parallel()
	_, err := Parse("x.yaml", []byte("entries:\n  - id: a\n    question: q\n    answer: \"\"\n"))
	var ee *EntryError
	if !errors.As(err, &ee) {
		t.Fatalf("error %v is not an *EntryError", err)
	}
	if diff := cmp.Diff(&EntryError{File: "x.yaml", Index: 1, ID: "a", Msg: "empty answer"}, ee); diff != "" {
		t.Fatalf("EntryError (-want +got):\n%s", diff)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	entry := func(id string) string {
		return "  - id: \"" + id + "\"\n    question: \"q " + id + "\"\n    answer: \"a " + id + "\"\n"
	}
	tests := []struct {
		name    string
		files   map[string]string // under the directory
		path    string            // relative to the directory; "" for the directory
		wantIDs []string
		wantErr string // substring, with {dir} replaced by the directory
	}{
		{
			name:    "directory in name order",
			files:   map[string]string{"b.yaml": "entries:\n" + entry("b1"), "a.yml": "entries:\n" + entry("a1") + entry("a2")},
			wantIDs: []string{"a1", "a2", "b1"},
		},
		{
			name:    "other files and subdirectories ignored",
			files:   map[string]string{"a.yaml": "entries:\n" + entry("a"), "notes.txt": "x", "sub/c.yaml": "entries:\n" + entry("c"), "README.md": "# hi"},
			wantIDs: []string{"a"},
		},
		{
			name:    "upper-case extension",
			files:   map[string]string{"A.YAML": "entries:\n" + entry("a")},
			wantIDs: []string{"a"},
		},
		{
			name:    "single file",
			files:   map[string]string{"one.yaml": "entries:\n" + entry("x"), "two.yaml": "entries:\n" + entry("y")},
			path:    "one.yaml",
			wantIDs: []string{"x"},
		},
		{
			name:    "duplicate across files names both",
			files:   map[string]string{"a.yaml": "entries:\n" + entry("x"), "b.yaml": "entries:\n" + entry("y") + entry("x")},
			wantErr: `load faq: {dir}/b.yaml: entry 2 (id "x"): duplicate id (first in {dir}/a.yaml, entry 1)`,
		},
		{
			name:    "error names the file",
			files:   map[string]string{"a.yaml": "entries:\n" + entry("x"), "b.yaml": "entries:\n  - id: y\n    question: q\n"},
			wantErr: `load faq: {dir}/b.yaml: entry 1 (id "y"): empty answer`,
		},
		{
			name:    "unknown key names the file",
			files:   map[string]string{"a.yaml": "entries:\n" + entry("x") + "    colour: red\n"},
			wantErr: `load faq: {dir}/a.yaml: yaml: unmarshal errors:`,
		},
		{
			name:    "no yaml files",
			files:   map[string]string{"notes.txt": "x"},
			wantErr: "load faq: {dir}: no *.yaml or *.yml files",
		},
		{
			name:    "no entries",
			files:   map[string]string{"a.yaml": "entries: []\n", "b.yaml": ""},
			wantErr: "no entries",
		},
		{
			name:    "missing path",
			files:   map[string]string{},
			path:    "nope.yaml",
			wantErr: "load faq: stat {dir}/nope.yaml: no such file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, content := range tt.files {
				MustWriteFile(t, dir, name, content)
			}
			kb, err := Load(filepath.Join(dir, tt.path))
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "{dir}", dir)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("Load() error = %v, want containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			var ids []string
			for _, e := range kb.Entries {
				ids = append(ids, e.ID)
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Fatalf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadOrDefault(t *testing.T) {
	t.Parallel()
	kb, usedDefault, err := LoadOrDefault(filepath.Join(t.TempDir(), "missing"))
	if err != nil || !usedDefault || len(kb.Entries) == 0 {
		t.Fatalf("LoadOrDefault(missing) = %d entries, %v, %v; want the default KB", len(kb.Entries), usedDefault, err)
	}
	p := MustWriteFile(t, t.TempDir(), "kb.yaml", validYAML)
	kb, usedDefault, err = LoadOrDefault(p)
	if err != nil || usedDefault || len(kb.Entries) != 2 {
		t.Fatalf("LoadOrDefault(file) = %d entries, %v, %v; want 2 entries from the file", len(kb.Entries), usedDefault, err)
	}
	bad := MustWriteFile(t, t.TempDir(), "kb.yaml", "entries: [")
	if _, _, err := LoadOrDefault(bad); err == nil {
		t.Fatal("LoadOrDefault(bad file) succeeded; want the parse error, not the default")
	}
}

func TestDefaultKB(t *testing.T) {
	t.Parallel()
	kb := DefaultKB()
	if got := len(kb.Entries); got < 15 || got > 30 {
		t.Fatalf("default KB has %d entries, want 15-30", got)
	}
	for _, e := range kb.Entries {
		if len(e.Examples) < 4 {
			t.Errorf("entry %q has %d examples, want at least 4", e.ID, len(e.Examples))
		}
	}
	// The repository's faq/kb directory is the embedded one.
	fromDisk, err := Load("kb")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fromDisk.Hash(), kb.Hash(); got != want {
		t.Fatalf("faq/kb hash %s, embedded %s", got, want)
	}
	// Each call returns a copy.
	kb.Entries[0].Answer = "changed"
	if DefaultKB().Entries[0].Answer == "changed" {
		t.Fatal("DefaultKB returned shared entries")
	}
	if _, err := fs.Stat(defaultFS, "kb/default.yaml"); err != nil {
		t.Fatal(err)
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	a := Entry{ID: "a", Question: "qa", Examples: []string{"x"}, Answer: "A", Tags: []string{"t"}}
	b := Entry{ID: "b", Question: "qb", Answer: "B"}
	base := (&KB{Entries: []Entry{a, b}}).Hash()
	if got := (&KB{Entries: []Entry{b, a}}).Hash(); got != base {
		t.Fatal("hash depends on entry order")
	}
	if got := (&KB{Entries: []Entry{a, b}, Sources: []string{"elsewhere"}}).Hash(); got != base {
		t.Fatal("hash depends on the source files")
	}
	edits := map[string]func(e *Entry){
		"id":       func(e *Entry) { e.ID = "c" },
		"question": func(e *Entry) { e.Question = "qc" },
		"example":  func(e *Entry) { e.Examples = []string{"y"} },
		"answer":   func(e *Entry) { e.Answer = "A2" },
		"tag":      func(e *Entry) { e.Tags = nil },
	}
	for name, edit := range edits {
		e := a
		edit(&e)
		if got := (&KB{Entries: []Entry{e, b}}).Hash(); got == base {
			t.Errorf("hash unchanged after editing the %s", name)
		}
	}
	// Answers and tags do not change what the matcher learns.
	e := a
	e.Answer, e.Tags = "other", nil
	if (&KB{Entries: []Entry{e, b}}).trainingHash() != (&KB{Entries: []Entry{a, b}}).trainingHash() {
		t.Fatal("training hash depends on answers or tags")
	}
	// Field boundaries are unambiguous.
	x := &KB{Entries: []Entry{{ID: "ab", Question: "c", Answer: "z"}}}
	y := &KB{Entries: []Entry{{ID: "a", Question: "bc", Answer: "z"}}}
	if x.Hash() == y.Hash() {
		t.Fatal("hash collides across field boundaries")
	}
}

func TestKBEntry(t *testing.T) {
	t.Parallel()
	kb := &KB{Entries: []Entry{{ID: "a", Question: "q", Answer: "x"}}}
	if e, ok := kb.Entry("a"); !ok || e.Answer != "x" {
		t.Fatalf("Entry(a) = %v, %v", e, ok)
	}
	if _, ok := kb.Entry("b"); ok {
		t.Fatal("Entry(b) found")
	}
}
