package faq

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mustAppend calls AppendEntry and fails the test on error.
func mustAppend(tb testing.TB, path string, e Entry) Appended {
	tb.Helper()
	a, err := AppendEntry(path, e)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// dirFiles lists the names in dir, to catch leftover temporary files.
func dirFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestSuggestSlug(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"How do I reset my password?", "how-do-i-reset-my-password"},
		{"  What's the   VAT rate (EU)?? ", "whats-the-vat-rate-eu"},
		{"Où est ma commande ?", "où-est-ma-commande"},
		{"???", "faq"},
		{"", "faq"},
		{"I want a refund please\nhello?", "i-want-a-refund-please-hello"},
		{strings.Repeat("word ", 30), "word-word-word-word-word-word-word-word-word"}, // cut between words
		{strings.Repeat("x", 100), strings.Repeat("x", 48)},
	} {
		got := slug(tc.in)
		if got != tc.want {
			t.Errorf("slug(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if len(got) > maxSlug {
			t.Errorf("slug(%q) is %d bytes long", tc.in, len(got))
		}
	}
}

func TestAppendEntryDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	main := MustWriteFile(t, dir, "main.yaml", validYAML)
	mainBefore, _ := os.ReadFile(main)

	a := mustAppend(t, dir, Entry{Question: "  How do I add a second user? ", Answer: "Settings, Team, Invite.\n\nAdmins only."})
	want := Appended{
		Entry: Entry{ID: "how-do-i-add-a-second-user", Question: "How do I add a second user?", Answer: "Settings, Team, Invite.\n\nAdmins only."},
		File:  filepath.Join(dir, SuggestedFile),
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Fatalf("AppendEntry mismatch (-want +got):\n%s", diff)
	}
	// The same question again, with another answer: a new id.
	b := mustAppend(t, dir, Entry{Question: "How do I add a second user?", Answer: "Ask your admin.", Tags: []string{"team"}})
	if b.Entry.ID != "how-do-i-add-a-second-user-2" || b.Existed {
		t.Fatalf("second entry = %+v", b)
	}
	// An entry already there (a retried approval) is not added twice.
	c := mustAppend(t, dir, Entry{Question: "How do I add a second user?", Answer: "Ask your admin."})
	if !c.Existed || c.Entry.ID != b.Entry.ID || c.File != want.File {
		t.Fatalf("repeated entry = %+v, want the existing one", c)
	}
	// A generated id avoids ids of the other files too.
	d := mustAppend(t, dir, Entry{Question: "Reset", Answer: "Use the link, really."})
	if d.Entry.ID != "reset-2" {
		t.Fatalf("id = %q, want reset-2 (reset is in main.yaml)", d.Entry.ID)
	}

	// The knowledge base loaded after the appends holds them, in order,
	// after the hand-written file, which is untouched.
	kb, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range kb.Entries {
		ids = append(ids, e.ID)
	}
	if diff := cmp.Diff([]string{"reset", "invoice", "how-do-i-add-a-second-user", "how-do-i-add-a-second-user-2", "reset-2"}, ids); diff != "" {
		t.Fatalf("ids after append (-want +got):\n%s", diff)
	}
	if e, _ := kb.Entry("how-do-i-add-a-second-user"); e.Answer != "Settings, Team, Invite.\n\nAdmins only." {
		t.Fatalf("multi-line answer = %q", e.Answer)
	}
	if after, _ := os.ReadFile(main); string(after) != string(mainBefore) {
		t.Fatal("main.yaml changed")
	}
	if got := dirFiles(t, dir); !cmp.Equal(got, []string{"main.yaml", SuggestedFile}) {
		t.Fatalf("files = %v, want no leftovers", got)
	}
}

// A single-file knowledge base gets the entry appended as text: its
// comments and layout stay as they were.
func TestAppendEntryFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	content := "# Our FAQ. Keep ids stable.\nentries:\n    - id: \"reset\"   # the most asked\n      question: \"How do I reset my password?\"\n      answer: \"Use the link.\"\n\n# more below\n"
	f := MustWriteFile(t, dir, "faq.yaml", content)
	if err := os.Chmod(f, 0o640); err != nil {
		t.Fatal(err)
	}
	a := mustAppend(t, f, Entry{ID: "invite", Question: "How do I invite a colleague?", Answer: "Settings: Team.", Examples: []string{"add a user"}})
	if a.File != f || a.Entry.ID != "invite" {
		t.Fatalf("appended = %+v", a)
	}
	got, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), content) {
		t.Fatalf("the file was rewritten, not appended to:\n%s", got)
	}
	if !strings.Contains(string(got), "\n    - id: invite\n      question: How do I invite a colleague?\n") {
		t.Fatalf("the entry does not follow the file's indentation:\n%s", got)
	}
	if st, _ := os.Stat(f); st.Mode().Perm() != 0o640 {
		t.Fatalf("mode = %v, want 0640 kept", st.Mode().Perm())
	}
	kb, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := kb.Entry("invite"); !ok || e.Examples[0] != "add a user" {
		t.Fatalf("entry after load = %+v, %v", e, ok)
	}
	if got := dirFiles(t, dir); !cmp.Equal(got, []string{"faq.yaml"}) {
		t.Fatalf("files = %v, want no leftovers", got)
	}
}

// Files the text append cannot extend (a flow list, an empty list, no list
// at all) are re-encoded instead, and still load with the entry.
func TestAppendEntryReencodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, content string }{
		{"flow list", `entries: [{id: a, question: "Q a?", answer: "A a."}]` + "\n"},
		{"empty list", "# nothing yet\nentries: []\n"},
		{"empty", ""},
		{"comments only", "# add entries here"},
		{"null entries", "entries:\n"},
		{"item on its own line", "entries:\n  -\n    id: a\n    question: Q a?\n    answer: A a.\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := MustWriteFile(t, t.TempDir(), "kb.yaml", tc.content)
			before, err := Parse(f, []byte(tc.content))
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, f, Entry{Question: "New question?", Answer: "New answer."})
			data, _ := os.ReadFile(f)
			after, err := Parse(f, data)
			if err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			if len(after) != len(before)+1 || after[len(before)].ID != "new-question" {
				t.Fatalf("entries = %+v\n%s", after, data)
			}
		})
	}
}

func TestAppendEntryRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	MustWriteFile(t, dir, "main.yaml", validYAML)

	// An explicit id that is taken.
	_, err := AppendEntry(dir, Entry{ID: "invoice", Question: "Q?", Answer: "A."})
	if !errors.Is(err, ErrIDTaken) {
		t.Fatalf("taken id: %v, want ErrIDTaken", err)
	}
	// An invalid entry.
	_, err = AppendEntry(dir, Entry{Question: "Q?", Answer: "  "})
	var ee *EntryError
	if !errors.As(err, &ee) || ee.Msg != "empty answer" {
		t.Fatalf("empty answer: %v", err)
	}
	_, err = AppendEntry(dir, Entry{Question: "Q?", Answer: "A.", Tags: []string{""}})
	if !errors.As(err, &ee) {
		t.Fatalf("empty tag: %v", err)
	}
	// A path that does not exist is not created.
	missing := filepath.Join(dir, "nope")
	if _, err := AppendEntry(missing, Entry{Question: "Q?", Answer: "A."}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing path: %v", err)
	}
	if got := dirFiles(t, dir); !cmp.Equal(got, []string{"main.yaml"}) {
		t.Fatalf("files = %v, want nothing written", got)
	}
}

// A knowledge base that does not load is refused and left untouched.
func TestAppendEntryInvalidExistingUntouched(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"broken suggested.yaml", map[string]string{"main.yaml": validYAML, SuggestedFile: "entries:\n  - id: x\n    question: [unclosed\n"}, SuggestedFile},
		{"bad entry in suggested.yaml", map[string]string{"main.yaml": validYAML, SuggestedFile: "entries:\n  - id: x\n    question: q\n"}, "empty answer"},
		{"broken other file", map[string]string{"main.yaml": "entries: {", SuggestedFile: "entries: []\n"}, "main.yaml"},
		{"duplicate id across files", map[string]string{"a.yaml": validYAML, "b.yaml": validYAML}, "duplicate id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, content := range tc.files {
				MustWriteFile(t, dir, name, content)
			}
			_, err := AppendEntry(dir, Entry{Question: "New?", Answer: "New."})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
			var names []string
			for name, content := range tc.files {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || string(got) != content {
					t.Errorf("%s changed: %q, %v", name, got, err)
				}
				names = append(names, name)
			}
			if got := dirFiles(t, dir); len(got) != len(names) {
				t.Errorf("files = %v, want only %v", got, names)
			}
		})
	}
	// The same for a single file.
	f := MustWriteFile(t, t.TempDir(), "faq.yaml", "entries:\n  - id: a\n    answer: no question\n")
	if _, err := AppendEntry(f, Entry{Question: "New?", Answer: "New."}); err == nil {
		t.Fatal("appended to an invalid file")
	}
	if got, _ := os.ReadFile(f); string(got) != "entries:\n  - id: a\n    answer: no question\n" {
		t.Fatalf("invalid file changed: %q", got)
	}
}

// A symlinked file is written through, and the link stays a link.
func TestAppendEntrySymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	real := MustWriteFile(t, dir, "real/faq.yaml", validYAML)
	kbDir := filepath.Join(dir, "kb")
	if err := os.Mkdir(kbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(kbDir, SuggestedFile)
	if err := os.Symlink(real, link); err != nil {
		t.Skip("symlinks unsupported:", err)
	}
	mustAppend(t, kbDir, Entry{Question: "Linked?", Answer: "Yes."})
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v, %v", st, err)
	}
	kb, err := Load(real)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := kb.Entry("linked"); !ok {
		t.Fatal("entry not in the linked file")
	}
}

// After an approval the reloaded matcher answers the new question with the
// new entry: AppendEntry, Load, then Live.Reload.
func TestAppendEntryReachesMatcher(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("entries:\n")
	for _, e := range smallKB().Entries {
		item, err := encodeItem(e)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.SplitAfter(item, "\n") {
			if l != "" {
				b.WriteString("  " + l)
			}
		}
	}
	MustWriteFile(t, dir, "kb.yaml", b.String())
	kb, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	live := NewLive(Options{}, "")
	t.Cleanup(func() { _ = live.Close() })
	ctx := context.Background()
	if err := live.Reload(ctx, kb); err != nil {
		t.Fatal(err)
	}

	a := mustAppend(t, dir, Entry{Question: "Can I pay with PayPal?", Answer: "Yes, PayPal and cards.",
		Examples: []string{"paypal payment", "do you accept paypal", "pay using paypal account"}})
	kb, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := live.Reload(ctx, kb); err != nil {
		t.Fatal(err)
	}
	ms := live.Current().Match("Can I pay with PayPal?", 1)
	if len(ms) != 1 || ms[0].Entry.ID != a.Entry.ID {
		t.Fatalf("match = %+v, want %s", ms, a.Entry.ID)
	}
}
