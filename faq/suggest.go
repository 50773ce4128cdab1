package faq

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// SuggestedFile is the file AppendEntry writes in a knowledge-base
// directory: entries added from agents' answers, kept apart from the
// hand-written files.
const SuggestedFile = "suggested.yaml"

// ErrIDTaken means an entry with the requested id exists already.
var ErrIDTaken = errors.New("id already taken")

// maxSlug caps the length of an id generated from a question, in bytes.
const maxSlug = 48

// Appended is what AppendEntry did.
type Appended struct {
	// Entry is the entry as stored, with its final id.
	Entry Entry
	// File is the file written, or the one holding the existing entry.
	File string
	// Existed reports that an entry with the same question and answer was
	// in the knowledge base already; nothing was written.
	Existed bool
}

// appendMu serialises AppendEntry within the process. Between processes,
// a file changed between the read and the rename fails the append instead
// (see writeFileAtomic).
var appendMu sync.Mutex

// AppendEntry adds e to the knowledge base at path, as Load reads it: when
// path is a directory the entry goes to SuggestedFile in it (created with
// an entries: list if absent), when it is a file, to that file. With an
// empty e.ID the id is made from the question (a slug, with -2, -3, … when
// taken); an explicit id that is taken is an error wrapping ErrIDTaken. An
// entry with the same question and answer as an existing one is not added
// twice: Appended.Existed is set and its id returned, so that a retried
// approval is harmless.
//
// The file is never left corrupt: the whole knowledge base is parsed and
// validated with the new entry before anything is written, the new content
// is checked to parse back to the old entries plus e, and it replaces the
// file atomically (a temporary file in the same directory, synced, then
// renamed). An existing knowledge base that does not load is refused, and
// left untouched. The caller reloads the live matcher afterwards (Load, then
// Live.Reload).
func AppendEntry(path string, e Entry) (Appended, error) {
	appendMu.Lock()
	defer appendMu.Unlock()
	res, err := appendEntry(path, e)
	if err != nil {
		return Appended{}, fmt.Errorf("append faq entry: %w", err)
	}
	return res, nil
}

func appendEntry(path string, e Entry) (Appended, error) {
	e = normalizeEntry(e)
	st, err := os.Stat(path)
	if err != nil {
		// A missing path is not created: the service would then load only
		// this entry instead of the embedded default knowledge base.
		return Appended{}, err
	}
	target, files := path, []string{path}
	if st.IsDir() {
		des, err := os.ReadDir(path)
		if err != nil {
			return Appended{}, err
		}
		files = yamlFiles(path, des, filepath.Join)
		target = filepath.Join(path, SuggestedFile)
		if !slices.Contains(files, target) {
			files = append(files, target)
			slices.Sort(files) // Load's order
		}
	}

	// Read and validate what is there now: a knowledge base that does not
	// load is refused before anything is written.
	contents := map[string][]byte{}
	ids := map[string]bool{}
	var found *Appended
	for _, f := range files {
		data, err := readCapped(f, func(name string) (io.ReadCloser, error) { return os.Open(name) })
		if errors.Is(err, fs.ErrNotExist) && f == target && f != path {
			continue // SuggestedFile, not created yet
		} else if err != nil {
			return Appended{}, err
		}
		contents[f] = data
		entries, err := Parse(f, data)
		if err != nil {
			return Appended{}, err
		}
		for _, x := range entries {
			if found == nil && sameEntry(x, e) {
				found = &Appended{Entry: x, File: f, Existed: true}
			}
			ids[x.ID] = true
		}
	}
	if _, err := loadFiles(present(files, contents), openFrom(contents)); err != nil && !errors.Is(err, ErrNoEntries) {
		return Appended{}, err
	}
	if found != nil {
		return *found, nil
	}

	switch {
	case e.ID == "":
		e.ID = uniqueID(slug(e.Question), ids)
	case ids[e.ID]:
		return Appended{}, fmt.Errorf("entry id %q: %w", e.ID, ErrIDTaken)
	}
	old, existed := contents[target]
	data, err := appendYAML(target, old, e)
	if err != nil {
		return Appended{}, err
	}
	// Validate the knowledge base as Load will read it after the write.
	contents[target] = data
	if _, err := loadFiles(present(files, contents), openFrom(contents)); err != nil {
		return Appended{}, err
	}

	// Write through a symlink to the file it names, not over the link.
	name := target
	mode := fs.FileMode(0o644)
	if existed {
		if name, err = filepath.EvalSymlinks(target); err != nil {
			return Appended{}, err
		}
		if st, err := os.Stat(name); err == nil {
			mode = st.Mode().Perm()
		}
	}
	if err := writeFileAtomic(name, data, old, existed, mode); err != nil {
		return Appended{}, err
	}
	return Appended{Entry: e, File: target}, nil
}

// present lists the files of files that have content.
func present(files []string, contents map[string][]byte) []string {
	var out []string
	for _, f := range files {
		if _, ok := contents[f]; ok {
			out = append(out, f)
		}
	}
	return out
}

func openFrom(contents map[string][]byte) func(string) (io.ReadCloser, error) {
	return func(name string) (io.ReadCloser, error) {
		data, ok := contents[name]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return io.NopCloser(bytes.NewReader(data)), nil
	}
}

// normalizeEntry trims the question, answer and id, and drops empty lists,
// so that an entry compares equal to itself parsed back.
func normalizeEntry(e Entry) Entry {
	e.ID = strings.TrimSpace(e.ID)
	e.Question = strings.TrimSpace(e.Question)
	e.Answer = strings.TrimSpace(e.Answer)
	if len(e.Examples) == 0 {
		e.Examples = nil
	}
	if len(e.Tags) == 0 {
		e.Tags = nil
	}
	return e
}

// sameEntry reports whether x already holds e: the same question and answer
// (and id, when e names one).
func sameEntry(x, e Entry) bool {
	return (e.ID == "" || e.ID == x.ID) &&
		strings.TrimSpace(x.Question) == e.Question && strings.TrimSpace(x.Answer) == e.Answer
}

// slug makes an id from a question: lower-case letters and digits, words
// joined by "-", at most maxSlug bytes, cut between words; "faq" when the
// question has no letters or digits.
func slug(q string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(q) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if gap && b.Len() > 0 {
				b.WriteByte('-')
			}
			gap = false
			b.WriteRune(r)
		case r == '\'' || r == '’': // what's → whats
		default:
			gap = true
		}
	}
	s := b.String()
	if len(s) > maxSlug {
		cut := s[:maxSlug]
		for !utf8.ValidString(cut) {
			cut = cut[:len(cut)-1]
		}
		if i := strings.LastIndexByte(cut, '-'); i >= maxSlug/3 {
			cut = cut[:i]
		}
		s = strings.Trim(cut, "-")
	}
	if s == "" {
		return "faq"
	}
	return s
}

// uniqueID returns base, or base-2, base-3, … whichever is free.
func uniqueID(base string, taken map[string]bool) string {
	if !taken[base] {
		return base
	}
	for n := 2; ; n++ {
		if id := base + "-" + strconv.Itoa(n); !taken[id] {
			return id
		}
	}
}

// appendYAML returns old (one knowledge-base file's content) with e added
// at the end of its entries. It appends text when it can, so that the
// file's comments and layout stay as they were, and otherwise re-encodes the
// document. Either way the result must parse back to old's entries plus e.
func appendYAML(name string, old []byte, e Entry) ([]byte, error) {
	before, err := Parse(name, old)
	if err != nil {
		return nil, err
	}
	// check returns an error unless data holds exactly before plus e; a
	// validation error of the new entry is returned as is.
	check := func(data []byte) error {
		after, err := Parse(name, data)
		if err != nil {
			return err
		}
		if len(after) != len(before)+1 || !reflect.DeepEqual(after[len(before)], e) {
			return fmt.Errorf("%s: cannot add the entry without changing the others", name)
		}
		for i := range before {
			if !reflect.DeepEqual(after[i], before[i]) {
				return fmt.Errorf("%s: cannot add the entry without changing the others", name)
			}
		}
		return nil
	}
	data, err := appendText(old, e)
	if err == nil {
		if err = check(data); err == nil {
			return data, nil
		}
		if _, ok := errors.AsType[*EntryError](err); ok {
			return nil, err // the entry itself is invalid
		}
	}
	if data, err = appendNode(old, e); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := check(data); err != nil {
		return nil, err
	}
	return data, nil
}

// appendText appends e as one more item of a block-style entries list, at
// the indentation of the existing items; for a file with no entries key
// yet (empty, or comments only), it appends "entries:" first.
func appendText(old []byte, e Entry) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(old, &doc); err != nil {
		return nil, err
	}
	indent := "  "
	var out bytes.Buffer
	out.Write(old)
	if len(old) > 0 && old[len(old)-1] != '\n' {
		out.WriteByte('\n')
	}
	seq := entriesNode(&doc)
	switch {
	case seq == nil && (len(doc.Content) == 0 || doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null"):
		out.WriteString("entries:\n")
	case seq == nil:
		return nil, errors.New("no entries list")
	case seq.Kind == yaml.SequenceNode && seq.Style&yaml.FlowStyle == 0 && len(seq.Content) > 0:
		lines := strings.Split(string(old), "\n")
		item := seq.Content[0]
		if item.Line < 1 || item.Line > len(lines) {
			return nil, errors.New("cannot place the entry")
		}
		l := lines[item.Line-1]
		ws := l[:len(l)-len(strings.TrimLeft(l, " "))]
		if !strings.HasPrefix(l[len(ws):], "-") {
			return nil, errors.New("cannot place the entry")
		}
		indent = ws
	case seq.Kind == yaml.ScalarNode && seq.Tag == "!!null":
		// "entries:" with nothing under it: items may follow.
	default:
		return nil, errors.New("entries is not a block list")
	}
	item, err := encodeItem(e)
	if err != nil {
		return nil, err
	}
	for _, l := range strings.SplitAfter(item, "\n") {
		if strings.TrimSpace(l) != "" {
			out.WriteString(indent)
		}
		out.WriteString(l)
	}
	return out.Bytes(), nil
}

// encodeItem renders e as a one-item YAML list at indentation 0.
func encodeItem(e Entry) (string, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode([]Entry{e}); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// entriesNode returns the value node of the document's top-level entries
// key, or nil.
func entriesNode(doc *yaml.Node) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "entries" {
			return m.Content[i+1]
		}
	}
	return nil
}

// appendNode adds e to the document's entries and re-encodes it (comments
// kept where yaml.v3 keeps them, layout normalised).
func appendNode(old []byte, e Entry) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(old, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		*root = yaml.Node{Kind: yaml.MappingNode, HeadComment: root.HeadComment, FootComment: root.FootComment}
	}
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("the document is not a mapping")
	}
	seq := entriesNode(&doc)
	if seq == nil {
		seq = &yaml.Node{Kind: yaml.SequenceNode}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "entries"}, seq)
	}
	if seq.Kind == yaml.ScalarNode && seq.Tag == "!!null" {
		*seq = yaml.Node{Kind: yaml.SequenceNode, HeadComment: seq.HeadComment, LineComment: seq.LineComment}
	}
	if seq.Kind != yaml.SequenceNode {
		return nil, errors.New("entries is not a list")
	}
	seq.Style &^= yaml.FlowStyle
	var item yaml.Node
	if err := item.Encode(e); err != nil {
		return nil, err
	}
	seq.Content = append(seq.Content, &item)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeFileAtomic replaces name with data: a temporary file in the same
// directory (not *.yaml, so Load never reads it) is written, synced and
// renamed over name, and the directory synced. Just before the rename it
// checks that name still holds old (or still does not exist), so that an
// edit made meanwhile by someone else fails the append rather than being
// lost.
func writeFileAtomic(name string, data, old []byte, existed bool, mode fs.FileMode) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	cur, rerr := os.ReadFile(name)
	switch {
	case existed && rerr != nil:
		return fmt.Errorf("%s changed while the entry was added: %w", name, rerr)
	case existed && !bytes.Equal(cur, old):
		return fmt.Errorf("%s changed while the entry was added; try again", name)
	case !existed && !errors.Is(rerr, fs.ErrNotExist):
		return fmt.Errorf("%s was created while the entry was added; try again", name)
	}
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	// The rename is durable once the directory is synced; a failure here
	// (some systems cannot sync a directory) does not undo it.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// ErrUnknownEntry means no entry of the knowledge base has the id.
var ErrUnknownEntry = errors.New("no such entry")

// AddedExamples is what AddExamples did.
type AddedExamples struct {
	// File is the file that holds the entry.
	File string
	// Added are the examples written; the others were there already.
	Added []string
}

// AddExamples adds example phrasings to the entry id of the knowledge base
// at path (a file or a directory, as Load reads it), in the file that holds
// the entry. Examples equal to the entry's question or to one of its
// examples, case and spaces aside, are skipped; when none is left nothing
// is written. An unknown id is an error wrapping ErrUnknownEntry. As with
// AppendEntry, the whole knowledge base is validated with the change before
// the file is replaced atomically, and a file changed meanwhile fails the
// call. The file is re-encoded (comments kept where yaml.v3 keeps them);
// every other entry reads back unchanged, which is checked.
func AddExamples(path, id string, examples []string) (AddedExamples, error) {
	appendMu.Lock()
	defer appendMu.Unlock()
	res, err := addExamples(path, id, examples)
	if err != nil {
		return AddedExamples{}, fmt.Errorf("add faq examples to %q: %w", id, err)
	}
	return res, nil
}

func addExamples(path, id string, examples []string) (AddedExamples, error) {
	st, err := os.Stat(path)
	if err != nil {
		return AddedExamples{}, err
	}
	files := []string{path}
	if st.IsDir() {
		des, err := os.ReadDir(path)
		if err != nil {
			return AddedExamples{}, err
		}
		files = yamlFiles(path, des, filepath.Join)
	}
	contents := map[string][]byte{}
	target, index := "", -1
	var before []Entry
	for _, f := range files {
		data, err := readCapped(f, func(name string) (io.ReadCloser, error) { return os.Open(name) })
		if err != nil {
			return AddedExamples{}, err
		}
		contents[f] = data
		entries, err := Parse(f, data)
		if err != nil {
			return AddedExamples{}, err
		}
		if target != "" {
			continue
		}
		for i, x := range entries {
			if x.ID == id {
				target, index, before = f, i, entries
				break
			}
		}
	}
	if target == "" {
		return AddedExamples{}, ErrUnknownEntry
	}
	add := CleanExamples(before[index], examples, 0)
	if len(add) == 0 {
		return AddedExamples{File: target}, nil
	}
	data, err := addExampleNodes(contents[target], index, add)
	if err != nil {
		return AddedExamples{}, fmt.Errorf("%s: %w", target, err)
	}
	after, err := Parse(target, data)
	if err != nil {
		return AddedExamples{}, err
	}
	want := slices.Clone(before)
	want[index].Examples = append(slices.Clone(want[index].Examples), add...)
	if !reflect.DeepEqual(after, want) {
		return AddedExamples{}, fmt.Errorf("%s: cannot add the examples without changing other entries", target)
	}
	old := contents[target]
	contents[target] = data
	if _, err := loadFiles(files, openFrom(contents)); err != nil {
		return AddedExamples{}, err
	}
	name, err := filepath.EvalSymlinks(target)
	if err != nil {
		return AddedExamples{}, err
	}
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(name); err == nil {
		mode = st.Mode().Perm()
	}
	if err := writeFileAtomic(name, data, old, true, mode); err != nil {
		return AddedExamples{}, err
	}
	return AddedExamples{File: target, Added: add}, nil
}

// addExampleNodes appends examples to the index-th item of the document's
// entries list and re-encodes the document.
func addExampleNodes(old []byte, index int, examples []string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(old, &doc); err != nil {
		return nil, err
	}
	seq := entriesNode(&doc)
	if seq == nil || seq.Kind != yaml.SequenceNode || index >= len(seq.Content) || seq.Content[index].Kind != yaml.MappingNode {
		return nil, errors.New("cannot find the entry in the file")
	}
	item := seq.Content[index]
	var list *yaml.Node
	for i := 0; i+1 < len(item.Content); i += 2 {
		if item.Content[i].Value == "examples" {
			list = item.Content[i+1]
		}
	}
	if list == nil || (list.Kind == yaml.ScalarNode && list.Tag == "!!null") {
		if list == nil {
			list = &yaml.Node{}
			// After the question, where people look for them.
			at := len(item.Content)
			for i := 0; i+1 < len(item.Content); i += 2 {
				if item.Content[i].Value == "question" {
					at = i + 2
				}
			}
			item.Content = slices.Insert(item.Content, at, &yaml.Node{Kind: yaml.ScalarNode, Value: "examples"}, list)
		}
		*list = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	}
	if list.Kind != yaml.SequenceNode {
		return nil, errors.New("the entry's examples are not a list")
	}
	for _, x := range examples {
		list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x})
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
