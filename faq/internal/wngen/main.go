// Command wngen derives the matcher's synonym table, faq/wordnet.txt, from
// the WordNet 3.0 database (Princeton University; Debian package
// wordnet-base, files in /usr/share/wordnet). From the faq directory:
//
//	go generate
//
// runs
//
//	go run ./internal/wngen -dict /usr/share/wordnet -out wordnet.txt
//
// and rebuilds the table byte for byte from the same WordNet files.
//
// The table maps each single word of WordNet to the synsets of its most
// frequent senses (the first Senses of each part of speech, in WordNet's
// frequency order), renumbered densely; a synset that only one listed word
// names is dropped, since it would tell the matcher nothing the word does
// not. After a "|" come the hypernyms of those senses ("dog": canine,
// domestic animal). Lines starting with "=" are WordNet's irregular forms
// ("=went go").
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const header = `# Synonym table for the supportbot FAQ matcher, derived from WordNet 3.0 by
# faq/internal/wngen (go generate in faq/ rebuilds it byte for byte).
#
# WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.
# THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY
# MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF
# EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS
# OR WARRANTIES OF MERCHANTABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR
# THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT
# INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS.
# The full licence is in faq/WORDNET-LICENSE.
#
# Format: "word id id ... | id id ..." (synsets of the word's most frequent
# senses, then their hypernyms) and "=form lemma" (irregular inflections).
`

var poses = []string{"noun", "verb", "adj", "adv"}

func main() {
	dict := flag.String("dict", "/usr/share/wordnet", "WordNet dict directory")
	out := flag.String("out", "wordnet.txt", "output file")
	senses := flag.Int("senses", 3, "senses kept per word and part of speech")
	hyper := flag.Bool("hypernyms", true, "also list each kept sense's hypernyms, after a \"|\"")
	flag.Parse()
	if err := run(*dict, *out, *senses, *hyper); err != nil {
		log.Fatal(err)
	}
}

func plainWord(w string) bool {
	if len(w) < 2 {
		return false
	}
	for _, r := range w {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

// pointers reads the hypernym pointers of every synset: "n00001740" →
// its hypernyms' keys.
func pointers(dict string) (map[string][]string, error) {
	ptrs := map[string][]string{}
	for _, pos := range poses {
		data, err := os.ReadFile(filepath.Join(dict, "data."+pos))
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line == "" || line[0] == ' ' {
				continue
			}
			line, _, _ = strings.Cut(line, " | ")
			fs := strings.Fields(line)
			nw, err := strconv.ParseInt(fs[3], 16, 32)
			if err != nil {
				return nil, err
			}
			i := 4 + 2*int(nw)
			np, _ := strconv.Atoi(fs[i])
			key := pos[:1] + fs[0]
			for p := 0; p < np; p++ {
				sym, off, tpos := fs[i+1+4*p], fs[i+2+4*p], fs[i+3+4*p]
				if sym == "@" || sym == "@i" {
					if tpos == "s" {
						tpos = "a"
					}
					ptrs[key] = append(ptrs[key], tpos+off)
				}
			}
		}
	}
	return ptrs, nil
}

func run(dict, out string, senses int, hyper bool) error {
	var ptrs map[string][]string
	if hyper {
		var err error
		if ptrs, err = pointers(dict); err != nil {
			return err
		}
	}
	words := map[string][]string{}  // word → synset keys "n00001740"
	hypers := map[string][]string{} // word → its synsets' hypernyms
	for _, pos := range poses {
		f, err := os.Open(filepath.Join(dict, "index."+pos))
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, " ") {
				continue // licence header
			}
			fs := strings.Fields(line)
			if len(fs) < 6 || !plainWord(fs[0]) {
				continue
			}
			nsyn, _ := strconv.Atoi(fs[2])
			np, _ := strconv.Atoi(fs[3])
			offs := fs[4+np+2:]
			if len(offs) != nsyn {
				f.Close()
				return fmt.Errorf("index.%s: %q: %d offsets, want %d", pos, fs[0], len(offs), nsyn)
			}
			for _, o := range offs[:min(senses, len(offs))] {
				words[fs[0]] = append(words[fs[0]], pos[:1]+o)
				hypers[fs[0]] = append(hypers[fs[0]], ptrs[pos[:1]+o]...)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return err
		}
	}
	// A synset is kept when two words name it; a hypernym when two words
	// name it or lead to it.
	uses, hyperUses := map[string]int{}, map[string]int{}
	for _, ks := range words {
		for _, k := range ks {
			uses[k]++
			hyperUses[k]++
		}
	}
	for _, ks := range hypers {
		for _, k := range slices.Compact(slices.Clone(ks)) {
			hyperUses[k]++
		}
	}
	keys := make([]string, 0, len(words))
	for w := range words {
		keys = append(keys, w)
	}
	slices.Sort(keys)
	ids := map[string]int{}
	listed := map[string]bool{}
	var b strings.Builder
	b.WriteString(header)
	number := func(ks []string, uses map[string]int) []string {
		var out []string
		for _, k := range ks {
			if uses[k] < 2 {
				continue
			}
			id, ok := ids[k]
			if !ok {
				id = len(ids)
				ids[k] = id
			}
			if s := strconv.Itoa(id); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	for _, w := range keys {
		line, hyp := number(words[w], uses), number(hypers[w], hyperUses)
		if len(line) == 0 && len(hyp) == 0 {
			continue
		}
		listed[w] = true
		b.WriteString(w)
		for _, id := range line {
			b.WriteString(" " + id)
		}
		if len(hyp) > 0 {
			b.WriteString(" |")
			for _, id := range hyp {
				b.WriteString(" " + id)
			}
		}
		b.WriteString("\n")
	}
	var exc []string
	for _, pos := range poses {
		data, err := os.ReadFile(filepath.Join(dict, pos+".exc"))
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(data), "\n") {
			fs := strings.Fields(line)
			if len(fs) >= 2 && plainWord(fs[0]) && plainWord(fs[1]) && listed[fs[1]] {
				exc = append(exc, "="+fs[0]+" "+fs[1])
			}
		}
	}
	slices.Sort(exc)
	exc = slices.Compact(exc)
	for _, e := range exc {
		b.WriteString(e + "\n")
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}
