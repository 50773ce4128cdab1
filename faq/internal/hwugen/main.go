// Command hwugen derives the matcher's topic table, faq/topics.txt, from the
// HWU64 intent corpus (NLU-Evaluation-Data, Liu et al., "Benchmarking
// Natural Language Understanding Services for building Conversational
// Agents", 2019; github.com/xliuhw/NLU-Evaluation-Data at f6071b4, licence
// CC BY 4.0). Its input is the corpus's Rasa export of cross-validation
// fold 1, train and test together (all 11,036 annotated utterances, 64
// intents in 18 scenarios):
//
//	R=CrossValidation/out4RasaReal/rasa_json_2018_03_22-13_01_25_169_80Train/CrossValidation/KFold_1
//	go run ./internal/hwugen -out topics.txt \
//	    $R/merged/RasaNlu_Merged_KFold_1_2018_03_22-13_01_25_169.json \
//	    $R/mergedTestset/RasaNluTestset_Merged_2018_03_22-13_01_25_169.json
//
// (paths inside a checkout of that repository; the output is the same byte
// for byte). A word is listed with the intents and scenarios it is
// typical of: seen at least MinCount times, at least twice with the label,
// in at least Share of its uses, and Lift times more often than the label
// is overall. Words typical of one topic ("alarm", "wake", "snooze") so
// share a feature.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

const header = `# Topic table for the supportbot FAQ matcher, derived by faq/internal/hwugen
# from the HWU64 corpus (NLU-Evaluation-Data, X. Liu, A. Eshghi, P. Swietojanski
# and V. Rieser, "Benchmarking Natural Language Understanding Services for
# building Conversational Agents", IWSDS 2019), github.com/xliuhw/NLU-Evaluation-Data,
# licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/).
# Changes: only per-word statistics are kept, no utterance.
#
# Format: "word id id ...": the intents and scenarios (numbered) the word is
# typical of.
`

func main() {
	out := flag.String("out", "topics.txt", "output file")
	minCount := flag.Int("min-count", 3, "uses of a word needed to list it")
	share := flag.Float64("share", 0.25, "share of a word's uses with a label needed")
	lift := flag.Float64("lift", 4, "how much more often than overall")
	flag.Parse()
	if err := run(flag.Args(), *out, *minCount, *share, *lift); err != nil {
		log.Fatal(err)
	}
}

// words splits s as the matcher does: runs of letters and digits, lower
// case, apostrophes inside a word dropped.
func words(s string) []string {
	var out []string
	var cur []rune
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur = append(cur, unicode.ToLower(r))
		case (r == '\'' || r == '\u2019') && len(cur) > 0 && i+1 < len(rs) && unicode.IsLetter(rs[i+1]):
		default:
			if len(cur) > 0 {
				out = append(out, string(cur))
			}
			cur = cur[:0]
		}
	}
	if len(cur) > 0 {
		out = append(out, string(cur))
	}
	return out
}

func run(files []string, out string, minCount int, share, lift float64) error {
	if len(files) == 0 {
		return fmt.Errorf("no input files")
	}
	type label = string
	count := map[string]map[label]int{}
	total := map[string]int{}
	labels := map[label]int{}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var doc struct {
			Rasa struct {
				Examples []struct {
					Text   string `json:"text"`
					Intent string `json:"intent"`
				} `json:"common_examples"`
			} `json:"rasa_nlu_data"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, ex := range doc.Rasa.Examples {
			scenario, _, _ := strings.Cut(ex.Intent, "_")
			ls := []label{"i:" + ex.Intent, "s:" + scenario}
			n++
			for _, l := range ls {
				labels[l]++
			}
			seen := map[string]bool{}
			for _, w := range words(ex.Text) {
				if seen[w] || len(w) < 2 {
					continue
				}
				seen[w] = true
				total[w]++
				if count[w] == nil {
					count[w] = map[label]int{}
				}
				for _, l := range ls {
					count[w][l]++
				}
			}
		}
	}
	names := make([]label, 0, len(labels))
	for l := range labels {
		names = append(names, l)
	}
	slices.Sort(names)
	id := map[label]int{}
	for i, l := range names {
		id[l] = i
	}
	ws := make([]string, 0, len(total))
	for w, t := range total {
		if t >= minCount {
			ws = append(ws, w)
		}
	}
	slices.Sort(ws)
	var b strings.Builder
	b.WriteString(header)
	for _, w := range ws {
		var ids []string
		for _, l := range names {
			c := count[w][l]
			p := float64(c) / float64(total[w])
			if c >= 2 && p >= share && p/(float64(labels[l])/float64(n)) >= lift {
				ids = append(ids, strconv.Itoa(id[l]))
			}
		}
		if len(ids) > 0 {
			fmt.Fprintf(&b, "%s %s\n", w, strings.Join(ids, " "))
		}
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}
