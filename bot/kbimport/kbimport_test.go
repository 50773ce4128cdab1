package kbimport_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot/kbimport"
)

// stubSource returns its batches in turn and records the cursors asked for.
type stubSource struct {
	batches []kbimport.Batch
	cursors []string
}

func (s *stubSource) Vendor() string { return "stub" }

func (s *stubSource) Fetch(_ context.Context, cursor string) (kbimport.Batch, error) {
	s.cursors = append(s.cursors, cursor)
	b := s.batches[0]
	s.batches = s.batches[1:]
	return b, nil
}

func TestImporter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A file the operator wrote stays, whatever the imports do.
	if err := os.WriteFile(filepath.Join(dir, "own-page.md"), []byte("---\ntitle: Mine\n---\n\ntext\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := &stubSource{batches: []kbimport.Batch{
		{Complete: true, Cursor: "c1", Articles: []kbimport.Article{
			{ID: "1", Title: "  Spaced \n title ", URL: "javascript:alert(1)", Body: "<p>one</p>"},
			{ID: "2", Title: "", URL: "https://h.example/2", Body: "<p>two</p>", UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))},
			{ID: "3", Title: "Only an image", Body: `<p><img src="x.png"></p>`},
			{ID: "4", Title: "Markdown", Body: "# Kept\n\nas is", Markdown: true},
		}},
		{Complete: true, Cursor: "c2", Articles: []kbimport.Article{
			{ID: "4", Title: "Markdown", Body: "# Kept\n\nas is", Markdown: true},
		}},
	}}
	im := &kbimport.Importer{Dir: dir}
	res, err := im.Run(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := files(t, dir), []string{"own-page.md", "stub-1.md", "stub-2.md", "stub-4.md"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v (an article with no text is left out)", got, want)
	}
	if res.Written != 3 || res.Skipped != 1 {
		t.Fatalf("result %+v", res)
	}
	if got, want := readFile(t, filepath.Join(dir, "stub-1.md")), "---\ntitle: Spaced title\nsource: stub\n---\n\none\n"; got != want {
		t.Fatalf("stub-1.md %q, want %q (no script URL)", got, want)
	}
	if got := readFile(t, filepath.Join(dir, "stub-2.md")); !strings.Contains(got, "title: stub article 2\n") ||
		!strings.Contains(got, "updated_at: \"2026-01-02T02:04:05Z\"\n") {
		t.Fatalf("stub-2.md:\n%s", got)
	}
	if got := readFile(t, filepath.Join(dir, "stub-4.md")); !strings.HasSuffix(got, "---\n\n# Kept\n\nas is\n") {
		t.Fatalf("stub-4.md:\n%s", got)
	}

	// The second listing is complete: the imported files missing from it
	// go, the operator's own file stays.
	res, err = im.Run(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := files(t, dir), []string{"own-page.md", "stub-4.md"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if res.Removed != 2 || res.Unchanged != 1 {
		t.Fatalf("result %+v", res)
	}
	if !slices.Equal(src.cursors, []string{"", "c1"}) {
		t.Fatalf("cursors asked %v", src.cursors)
	}
	checkState(t, dir, "stub", "c2")
	if ents, _ := os.ReadDir(dir); len(ents) != 3 { // two files and the state: no temporary file left
		t.Fatalf("directory holds %d entries", len(ents))
	}
}

func TestImporterBadState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(kbimport.StatePath(dir, "stub"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	im := &kbimport.Importer{Dir: dir}
	_, err := im.Run(context.Background(), &stubSource{})
	if err == nil || !strings.Contains(err.Error(), ".import-stub.json") {
		t.Fatalf("Run with a broken state file: %v, want an error naming it", err)
	}
}

func TestImporterStateCannotRemoveOtherFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "articles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(root, "precious.md")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	state := `{"vendor":"stub","cursor":"c","files":{"1":"../precious.md","2":"own-page.md"}}`
	if err := os.WriteFile(kbimport.StatePath(dir, "stub"), []byte(state), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "own-page.md"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := &stubSource{batches: []kbimport.Batch{{Complete: true, Cursor: "d", Removed: []string{"1"}}}}
	if _, err := (&kbimport.Importer{Dir: dir}).Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{victim, filepath.Join(dir, "own-page.md")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s removed through the state file: %v", p, err)
		}
	}
}
