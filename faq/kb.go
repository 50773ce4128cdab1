package faq

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Entry is one FAQ entry: a canonical question, example phrasings of it, the
// answer the bot sends, and free-form tags.
type Entry struct {
	ID       string   `yaml:"id" json:"id"`
	Question string   `yaml:"question" json:"question"`
	Examples []string `yaml:"examples,omitempty" json:"examples,omitempty"`
	Answer   string   `yaml:"answer" json:"answer"`
	Tags     []string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// KB is a validated knowledge base: entries with unique ids, in the order
// they were loaded.
type KB struct {
	Entries []Entry
	// Sources names the files the entries came from, in load order.
	Sources []string
}

// MaxFileSize caps one knowledge-base file, so that a wrong path (a log file,
// a database) fails fast instead of exhausting memory.
const MaxFileSize = 64 << 20

// DefaultPath is the knowledge base directory of the repository's config.yaml.
const DefaultPath = "faq/kb"

// EntryError is a validation error for one entry of one file.
type EntryError struct {
	File  string // the file, as given to Load or Parse
	Index int    // 1-based position of the entry in its file
	ID    string // the entry's id, when it has one
	Msg   string // what is wrong
}

// Error names the file, the entry and the problem, e.g.
// `kb/a.yaml: entry 3 (id "refund"): empty answer`.
func (e *EntryError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("%s: entry %d: %s", e.File, e.Index, e.Msg)
	}
	return fmt.Sprintf("%s: entry %d (id %q): %s", e.File, e.Index, e.ID, e.Msg)
}

// ErrNoEntries is returned when a knowledge base holds no entries at all.
var ErrNoEntries = errors.New("no entries")

//go:embed kb/*.yaml
var defaultFS embed.FS

// DefaultKB returns the knowledge base embedded in the binary (faq/kb in the
// repository): a small FAQ for a generic SaaS product, used when the
// configured path does not exist. Each call returns a fresh copy.
func DefaultKB() *KB {
	des, err := fs.ReadDir(defaultFS, "kb")
	if err == nil {
		var kb *KB
		kb, err = loadFiles(yamlFiles("kb", des, path.Join), func(name string) (io.ReadCloser, error) { return defaultFS.Open(name) })
		if err == nil {
			return kb
		}
	}
	// The embedded files are checked by the package's tests.
	panic(fmt.Sprintf("faq: embedded knowledge base: %v", err))
}

// Load reads and validates a knowledge base from name: one YAML file, or a
// directory whose *.yaml and *.yml files (in name order; subdirectories are
// not read) together form it. Errors name the file and the entry.
func Load(name string) (*KB, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("load faq: %w", err)
	}
	files := []string{name}
	if st.IsDir() {
		des, err := os.ReadDir(name)
		if err != nil {
			return nil, fmt.Errorf("load faq: %w", err)
		}
		if files = yamlFiles(name, des, filepath.Join); len(files) == 0 {
			return nil, fmt.Errorf("load faq: %s: no *.yaml or *.yml files", name)
		}
	}
	open := func(name string) (io.ReadCloser, error) { return os.Open(name) }
	kb, err := loadFiles(files, open)
	if err != nil {
		return nil, fmt.Errorf("load faq: %w", err)
	}
	return kb, nil
}

// LoadOrDefault is Load, except that a name that does not exist yields
// DefaultKB (and usedDefault true). Any other error is returned.
func LoadOrDefault(name string) (kb *KB, usedDefault bool, err error) {
	if _, err := os.Stat(name); errors.Is(err, fs.ErrNotExist) {
		return DefaultKB(), true, nil
	}
	kb, err = Load(name)
	return kb, false, err
}

// yamlFiles lists the *.yaml and *.yml files among des, in name order.
func yamlFiles(dir string, des []fs.DirEntry, join func(...string) string) []string {
	var files []string
	for _, de := range des {
		ext := strings.ToLower(path.Ext(de.Name()))
		if !de.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, join(dir, de.Name()))
		}
	}
	slices.Sort(files)
	return files
}

// loadFiles parses files in order and checks that ids are unique across
// them.
func loadFiles(files []string, open func(string) (io.ReadCloser, error)) (*KB, error) {
	kb := &KB{}
	type firstSeen struct {
		file  string
		index int
	}
	seen := map[string]firstSeen{}
	for _, f := range files {
		data, err := readCapped(f, open)
		if err != nil {
			return nil, err
		}
		entries, err := Parse(f, data)
		if err != nil {
			return nil, err
		}
		for i, e := range entries {
			if prev, ok := seen[e.ID]; ok {
				return nil, &EntryError{File: f, Index: i + 1, ID: e.ID,
					Msg: fmt.Sprintf("duplicate id (first in %s, entry %d)", prev.file, prev.index)}
			}
			seen[e.ID] = firstSeen{f, i + 1}
		}
		kb.Entries = append(kb.Entries, entries...)
		kb.Sources = append(kb.Sources, f)
	}
	if len(kb.Entries) == 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(files, ", "), ErrNoEntries)
	}
	return kb, nil
}

func readCapped(name string, open func(string) (io.ReadCloser, error)) ([]byte, error) {
	f, err := open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxFileSize)
	}
	return data, nil
}

// file is the YAML document of one knowledge-base file.
type file struct {
	Entries []Entry `yaml:"entries"`
}

// Parse decodes and validates one knowledge-base file; name is used in
// errors only. Unknown keys, a second YAML document, an entry without an id,
// question or answer, an empty example or tag, and an id used twice in the
// file are errors. An empty file has no entries.
func Parse(name string, data []byte) ([]Entry, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more than one YAML document", name)
	}
	ids := make(map[string]int, len(f.Entries))
	for i := range f.Entries {
		e := &f.Entries[i]
		bad := func(msg string) error { return &EntryError{File: name, Index: i + 1, ID: e.ID, Msg: msg} }
		switch {
		case strings.TrimSpace(e.ID) == "":
			return nil, bad("empty id")
		case e.ID != strings.TrimSpace(e.ID):
			return nil, bad("id has leading or trailing space")
		case strings.TrimSpace(e.Question) == "":
			return nil, bad("no question")
		case strings.TrimSpace(e.Answer) == "":
			return nil, bad("empty answer")
		}
		for j, x := range e.Examples {
			if strings.TrimSpace(x) == "" {
				return nil, bad(fmt.Sprintf("example %d is empty", j+1))
			}
		}
		for j, t := range e.Tags {
			if strings.TrimSpace(t) == "" {
				return nil, bad(fmt.Sprintf("tag %d is empty", j+1))
			}
		}
		if prev, ok := ids[e.ID]; ok {
			return nil, bad(fmt.Sprintf("duplicate id (first at entry %d)", prev))
		}
		ids[e.ID] = i + 1
	}
	return f.Entries, nil
}

// Entry returns the entry with the given id.
func (kb *KB) Entry(id string) (Entry, bool) {
	for _, e := range kb.Entries {
		if e.ID == id {
			return e, true
		}
	}
	return Entry{}, false
}

// Hash returns a hex SHA-256 of the knowledge base's content. It is stable:
// it covers the entries sorted by id, each in a canonical encoding, so the
// order of files and entries does not change it, but any edit to an id,
// question, example, answer or tag does.
func (kb *KB) Hash() string {
	return hashEntries("faq kb v1", kb.Entries, true)
}

// trainingHash is Hash over the parts of the entries that the matcher learns
// from (ids, questions, examples; answers are hashed apart, answerHash): an
// edited tag reuses a cached model.
func (kb *KB) trainingHash() string {
	return hashEntries("faq training v1", kb.Entries, false)
}

// phrasings returns the number of questions and examples.
func (kb *KB) phrasings() int {
	n := 0
	for _, e := range kb.Entries {
		n += 1 + len(e.Examples)
	}
	return n
}

// answerHash hashes the entries' ids and answers: part of the cache key
// when the matcher trains on answers (trainConfig.AnswerWeight).
func (kb *KB) answerHash() string {
	h := sha256.New()
	h.Write([]byte("faq answers v1\n"))
	enc := json.NewEncoder(h)
	for _, e := range sortedByID(kb.Entries) {
		_ = enc.Encode([]string{e.ID, e.Answer})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func hashEntries(domain string, entries []Entry, full bool) string {
	sorted := sortedByID(entries)
	h := sha256.New()
	h.Write([]byte(domain + "\n"))
	enc := json.NewEncoder(h)
	for _, e := range sorted {
		rec := []any{e.ID, e.Question, nonNil(e.Examples)}
		if full {
			rec = append(rec, e.Answer, nonNil(e.Tags))
		}
		// Encoding strings and slices of strings cannot fail.
		_ = enc.Encode(rec)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sortedByID(entries []Entry) []Entry {
	sorted := slices.Clone(entries)
	slices.SortStableFunc(sorted, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return sorted
}
