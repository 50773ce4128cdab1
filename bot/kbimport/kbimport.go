// Package kbimport pulls a help center's articles through the vendor's
// public articles API (Zendesk Guide, Intercom Articles, Help Scout Docs,
// Freshdesk Solutions, Chatwoot portals) into a directory of Markdown
// files, one per published article, named <vendor>-<id>.md, with YAML front
// matter (title, url, tags, locale, updated_at, source) and the body turned
// from HTML into Markdown-ish text. Drafts and internal articles are
// skipped.
//
// An import is incremental: a state file in the directory
// (.import-<vendor>.json) keeps the vendor's cursor (the last sync time),
// and the next run asks only for what changed since, where the API can
// say. Files of articles that the API reports deleted, unpublished or
// internal are removed, and so are those missing from a complete listing.
// Nothing is written until every page was fetched, and the state file is
// saved last, so an import that fails leaves the state as it was and the
// next run retries from the same cursor.
package kbimport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/supportbot/supportbot/internal/atomicfile"
)

// Article is one published help-center article.
type Article struct {
	ID        string
	Title     string
	URL       string
	Tags      []string
	Locale    string
	UpdatedAt time.Time
	// Body is the article's HTML, or Markdown when Markdown is set.
	Body     string
	Markdown bool
}

// Batch is what one fetch of a Source found.
type Batch struct {
	// Articles are the published, public articles changed since the cursor.
	Articles []Article
	// Removed are ids of articles the API reports deleted, unpublished
	// (drafts) or internal: their files are removed.
	Removed []string
	// Complete means Articles lists every published article: files of
	// earlier imports missing from it are removed too.
	Complete bool
	// Cursor is the position to store for the next run.
	Cursor string
}

// Source is one vendor's help-center API.
type Source interface {
	// Vendor names the vendor: zendesk, intercom, helpscout, freshdesk, chatwoot.
	Vendor() string
	// Fetch returns the articles changed since cursor ("" for all). It
	// returns an error wrapping ErrAuth when the credentials are refused.
	Fetch(ctx context.Context, cursor string) (Batch, error)
}

// Result counts what an import did.
type Result struct {
	Vendor    string
	Written   int // files created or changed
	Unchanged int // articles fetched whose file was already the same
	Removed   int // files removed
	Skipped   int // drafts, unpublished and internal articles not written
	Full      bool
}

// Importer writes a Source's articles into Dir.
type Importer struct {
	Dir string
	// Full ignores the stored cursor: everything is fetched again, and
	// files of articles no longer listed are removed.
	Full bool
	// Now is the clock of the state file (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// state is the file .import-<vendor>.json.
type state struct {
	Vendor string `json:"vendor"`
	Cursor string `json:"cursor"`
	// SyncedAt is when the last import finished.
	SyncedAt time.Time `json:"synced_at"`
	// Files maps each imported article id to its file name.
	Files map[string]string `json:"files"`
}

// StatePath returns the state file of vendor in dir.
func StatePath(dir, vendor string) string {
	return filepath.Join(dir, ".import-"+vendor+".json")
}

// FileName returns the file an article is written to: <vendor>-<id>.md,
// with any character of id outside [A-Za-z0-9_-] replaced by "_".
func FileName(vendor, id string) string {
	var b strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 100 {
			break
		}
	}
	return vendor + "-" + b.String() + ".md"
}

// Run imports src into the directory.
func (im *Importer) Run(ctx context.Context, src Source) (Result, error) {
	vendor := src.Vendor()
	res := Result{Vendor: vendor}
	logger := im.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "kbimport", "vendor", vendor)
	if im.Dir == "" {
		return res, errors.New("import articles: no directory")
	}
	if err := os.MkdirAll(im.Dir, 0o755); err != nil {
		return res, fmt.Errorf("import articles: %w", err)
	}
	st, err := loadState(StatePath(im.Dir, vendor))
	if err != nil {
		return res, err
	}
	cursor := st.Cursor
	if im.Full {
		cursor = ""
	}
	res.Full = cursor == ""
	logger.Info("import articles", "since", cursor, "dir", im.Dir)
	batch, err := src.Fetch(ctx, cursor)
	if err != nil {
		return res, fmt.Errorf("import %s articles: %w", vendor, err)
	}

	seen := map[string]bool{}
	for _, a := range batch.Articles {
		if a.ID == "" {
			continue
		}
		name := FileName(vendor, a.ID)
		content, err := Render(vendor, a)
		if err != nil {
			return res, fmt.Errorf("import %s article %s: %w", vendor, a.ID, err)
		}
		if why := unusable(content); why != "" {
			// The article index refuses such a file, and with it the
			// whole directory: leave the article out.
			logger.Warn("article skipped", "article_id", a.ID, "reason", why)
			batch.Removed = append(batch.Removed, a.ID)
			continue
		}
		seen[a.ID] = true
		path := filepath.Join(im.Dir, name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
			res.Unchanged++
		} else {
			if err := atomicfile.Write(path, content, 0o644); err != nil {
				return res, fmt.Errorf("import %s article %s: %w", vendor, a.ID, err)
			}
			res.Written++
		}
		st.Files[a.ID] = name
	}
	remove := func(id string) error {
		// The name is derived again, never taken from the state file: an
		// edited state file must not reach a file outside the import's.
		name := FileName(vendor, id)
		err := os.Remove(filepath.Join(im.Dir, name))
		switch {
		case err == nil:
			res.Removed++
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("import %s articles: remove %s: %w", vendor, name, err)
		}
		delete(st.Files, id)
		return nil
	}
	for _, id := range batch.Removed {
		if seen[id] {
			continue // a later version of the same article is published
		}
		res.Skipped++
		if err := remove(id); err != nil {
			return res, err
		}
	}
	if batch.Complete {
		var gone []string
		for id := range st.Files {
			if !seen[id] {
				gone = append(gone, id)
			}
		}
		slices.Sort(gone)
		for _, id := range gone {
			if err := remove(id); err != nil {
				return res, err
			}
		}
	}
	st.Vendor = vendor
	st.Cursor = batch.Cursor
	if im.Now != nil {
		st.SyncedAt = im.Now().UTC()
	} else {
		st.SyncedAt = time.Now().UTC()
	}
	if err := saveState(StatePath(im.Dir, vendor), st); err != nil {
		return res, err
	}
	logger.Info("imported articles", "written", res.Written, "unchanged", res.Unchanged,
		"removed", res.Removed, "skipped", res.Skipped, "cursor", st.Cursor)
	return res, nil
}

// MaxFileBytes caps one article file, as the article index does.
const MaxFileBytes = 2 << 20

// unusable says why a rendered article cannot go into the directory: no
// text, or too large.
func unusable(content []byte) string {
	if len(content) > MaxFileBytes {
		return fmt.Sprintf("%d bytes, more than %d", len(content), MaxFileBytes)
	}
	_, body, _ := bytes.Cut(content[4:], []byte("\n---\n"))
	if len(bytes.TrimSpace(body)) == 0 {
		return "no text"
	}
	return ""
}

// frontMatter is the YAML head of an article file, in this key order.
type frontMatter struct {
	Title     string   `yaml:"title"`
	URL       string   `yaml:"url,omitempty"`
	Tags      []string `yaml:"tags,omitempty"`
	Locale    string   `yaml:"locale,omitempty"`
	UpdatedAt string   `yaml:"updated_at,omitempty"`
	Source    string   `yaml:"source"`
}

// Render returns the file of one article: front matter, then the body.
func Render(vendor string, a Article) ([]byte, error) {
	fm := frontMatter{
		Title: strings.Join(strings.Fields(a.Title), " "), Locale: a.Locale, Source: vendor,
	}
	if fm.Title == "" {
		fm.Title = vendor + " article " + a.ID
	}
	if u := strings.TrimSpace(a.URL); strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		fm.URL = u
	}
	for _, t := range a.Tags {
		if t = strings.TrimSpace(t); t != "" {
			fm.Tags = append(fm.Tags, t)
		}
	}
	if !a.UpdatedAt.IsZero() {
		fm.UpdatedAt = a.UpdatedAt.UTC().Format(time.RFC3339)
	}
	head, err := yaml.Marshal(fm)
	if err != nil {
		return nil, fmt.Errorf("front matter: %w", err)
	}
	body := a.Body
	if a.Markdown {
		body = strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
	} else {
		body = Markdown(body)
	}
	var b bytes.Buffer
	b.WriteString("---\n")
	b.Write(head)
	b.WriteString("---\n\n")
	if body != "" {
		b.WriteString(body)
		b.WriteString("\n")
	}
	return b.Bytes(), nil
}

func loadState(path string) (*state, error) {
	st := &state{Files: map[string]string{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	} else if err != nil {
		return nil, fmt.Errorf("read import state: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("read import state %s: %w (delete it to import everything again)", path, err)
	}
	if st.Files == nil {
		st.Files = map[string]string{}
	}
	return st, nil
}

func saveState(path string, st *state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("save import state: %w", err)
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("save import state: %w", err)
	}
	return nil
}
