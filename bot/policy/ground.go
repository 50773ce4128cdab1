package policy

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/supportbot/supportbot/prompts"
)

// The grounding check: before an LLM answer reaches a customer, the policy
// compares it with the FAQ entries it cites. A model that follows
// instructions hidden in a customer's message (or in a poisoned entry it was
// not given) writes text that those entries do not contain; the check
// refuses it, and the answer goes to an agent as a draft with reason
// llm_ungrounded. It has three parts:
//
//   - facts: every link, e-mail address, phone number and amount of money
//     or percentage in the answer must appear in the cited entries, or be on
//     the operator's allow-list (AllowedLinks);
//   - support: the share of the answer's content words (lower-cased,
//     stemmed, function words dropped) that occur in the cited entries must
//     reach MinSupport, a threshold measured on the eval sets
//     (docs/GROUNDING.md, TestGroundingSeparation), in the whole answer and
//     in each sentence of 3 content words or more (SentenceSupport);
//   - the system prompt: an answer that reproduces a run of PromptEcho words
//     of the instructions is refused, whatever else it says.

// Defaults of the grounding check.
const (
	// DefaultMinSupport is the share of an answer's content words that the
	// cited entries must contain; measured in docs/GROUNDING.md.
	DefaultMinSupport = 0.4
	// PromptEcho is the length, in words, of a run of the system prompt
	// that an answer may not reproduce.
	PromptEcho = 8
)

// Patterns of the facts an answer may not invent. Format characters are
// removed from the text first, so a zero-width space cannot split a link.
var (
	urlPattern    = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"'()\[\]{}]+`)
	domainPattern = regexp.MustCompile(`(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,24}|xn--[a-z0-9-]{1,59})\b(?:/[^\s<>"'()\[\]{}]*)?`)
	emailPattern  = regexp.MustCompile(`(?i)\b[a-z0-9._%+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,24}\b`)
	// phonePattern: an optional +, then 7 or more digits with the usual
	// separators between them.
	phonePattern = regexp.MustCompile(`\+?\(?\d[\d\s().-]{5,}\d`)
	// amountPattern: a currency sign or code before a number, or a number
	// followed by a currency code or word, or a percentage.
	amountPattern = regexp.MustCompile(`(?i)(?:[$€£¥₹₩₽¢]|\b(?:usd|eur|gbp|chf|cad|aud|jpy|inr|us\$|a\$|c\$)\s?)\s?\d[\d,.\s]*\d|(?:[$€£¥₹₩₽¢]|\b(?:usd|eur|gbp|chf|cad|aud|jpy|inr)\s?)\s?\d|\b\d[\d,.]*\s?(?:%|percent\b|per cent\b|usd\b|eur\b|gbp\b|chf\b|dollars?\b|euros?\b|pounds?\b|cents?\b|bucks\b)`)
	numberPattern = regexp.MustCompile(`\d+(?:[.,]\d+)*`)
)

// grounder checks answers against their cited entries. It is built once by
// Init from the Policy's settings.
type grounder struct {
	minSupport float64
	// allowHosts are allowed domains (a host or any of its subdomains);
	// allowPrefixes are allowed URL prefixes, lower-cased.
	allowHosts    []string
	allowPrefixes []string
	// prompt holds the system prompt's word runs of length PromptEcho.
	prompt map[string]bool
}

func newGrounder(minSupport float64, allowed []string, system string) *grounder {
	g := &grounder{minSupport: minSupport, prompt: map[string]bool{}}
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSpace(a))
		switch {
		case a == "":
		case strings.Contains(a, "://"):
			if u, err := url.Parse(a); err == nil && (u.Path == "" || u.Path == "/") && u.RawQuery == "" {
				g.allowHosts = append(g.allowHosts, u.Hostname())
			} else {
				g.allowPrefixes = append(g.allowPrefixes, a)
			}
		default:
			g.allowHosts = append(g.allowHosts, strings.TrimPrefix(strings.TrimSuffix(a, "/"), "*."))
		}
	}
	for _, run := range shingles(words(system), PromptEcho) {
		g.prompt[run] = true
	}
	return g
}

// Grounding is the outcome of the check for one answer.
type Grounding struct {
	// Support is the share of the answer's content words found in the
	// cited entries, in [0, 1].
	Support float64
	// Problems lists what failed, for agents; empty when the answer passed.
	Problems []string
}

// OK reports whether the answer may be sent.
func (g Grounding) OK() bool { return len(g.Problems) == 0 }

// check compares answer with evidence, the text of the entries it cites.
func (g *grounder) check(answer, evidence string) Grounding {
	answer, evidence = stripFormat(answer), stripFormat(evidence)
	var r Grounding
	lowEv := strings.ToLower(evidence)
	add := func(format string, a ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, a...)) }

	links := map[string]bool{}
	for _, u := range urlPattern.FindAllString(answer, -1) {
		u = trimLink(u)
		links[strings.ToLower(u)] = true
		if !g.linkGrounded(u, lowEv) {
			add("link %s is not in the cited entries", clipFact(u))
		}
	}
	emails := emailPattern.FindAllString(answer, -1)
	for _, e := range emails {
		low := strings.ToLower(e)
		if !strings.Contains(lowEv, low) && !g.hostAllowed(low[strings.LastIndexByte(low, '@')+1:]) {
			add("e-mail address %s is not in the cited entries", clipFact(e))
		}
	}
	// Bare domains ("evil.example/claim"), other than those of the links
	// and addresses above.
	rest := emailPattern.ReplaceAllString(urlPattern.ReplaceAllString(answer, " "), " ")
	for _, d := range domainPattern.FindAllString(rest, -1) {
		d = trimLink(d)
		if !looksLikeDomain(d) || links[strings.ToLower(d)] {
			continue
		}
		if !g.linkGrounded(d, lowEv) {
			add("link %s is not in the cited entries", clipFact(d))
		}
	}
	evDigits := digitRuns(evidence)
	for _, p := range phonePattern.FindAllString(rest, -1) {
		digits := onlyDigits(p)
		if len(digits) < 7 || evDigits[digits] {
			continue
		}
		add("phone number %s is not in the cited entries", clipFact(strings.TrimSpace(p)))
	}
	evNumbers := numbers(evidence)
	for _, a := range amountPattern.FindAllString(rest, -1) {
		for _, n := range numberPattern.FindAllString(a, -1) {
			if !evNumbers[normNumber(n)] {
				add("amount %s is not in the cited entries", clipFact(strings.TrimSpace(a)))
				break
			}
		}
	}

	aw := words(answer)
	for _, run := range shingles(aw, PromptEcho) {
		if g.prompt[run] && !strings.Contains(strings.Join(words(evidence), " "), run) {
			add("the answer reproduces the system prompt")
			break
		}
	}

	r.Support = Support(answer, evidence)
	if g.minSupport > 0 && r.Support < g.minSupport {
		add("only %.0f%% of its content words are in the cited entries (minimum %.0f%%)", 100*r.Support, 100*g.minSupport)
	} else if s := SentenceSupport(answer, evidence); g.minSupport > 0 && s < g.minSupport {
		add("a sentence has only %.0f%% of its content words in the cited entries (minimum %.0f%%)", 100*s, 100*g.minSupport)
	}
	return r
}

// linkGrounded reports whether a link or bare domain appears in the
// evidence (lower-cased) as a whole, or is allowed.
func (g *grounder) linkGrounded(link, lowEv string) bool {
	low := strings.ToLower(link)
	bare := strings.TrimPrefix(strings.TrimPrefix(low, "https://"), "http://")
	if containsWhole(lowEv, low) || containsWhole(lowEv, bare) {
		return true
	}
	for _, p := range g.allowPrefixes {
		if strings.HasPrefix(low, p) && (strings.HasSuffix(p, "/") || len(low) == len(p) || strings.ContainsRune("/?#", rune(low[len(p)]))) {
			return true
		}
	}
	u, err := url.Parse("http://" + bare)
	if err != nil || u.User != nil {
		return false // user@host links hide the real host
	}
	return g.hostAllowed(u.Hostname())
}

// containsWhole reports whether s occurs in text with no letter, digit,
// '-' or '.' just before it and no letter, digit or '-' just after it: the
// link "example.com" is not in "myexample.com", nor "/reset" in "/reset-2".
func containsWhole(text, s string) bool {
	if s == "" {
		return false
	}
	for from := 0; ; {
		i := strings.Index(text[from:], s)
		if i < 0 {
			return false
		}
		i += from
		j := i + len(s)
		before, after := rune(0), rune(0)
		if i > 0 {
			before = rune(text[i-1])
		}
		if j < len(text) {
			after = rune(text[j])
		}
		if !linkRune(before) && before != '.' && !linkRune(after) {
			return true
		}
		from = i + 1
	}
}

func linkRune(r rune) bool {
	return r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80
}

func (g *grounder) hostAllowed(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, h := range g.allowHosts {
		if h != "" && (host == h || strings.HasSuffix(host, "."+h)) {
			return true
		}
	}
	return false
}

// trimLink drops the punctuation that ends a sentence after a link.
func trimLink(s string) string { return strings.TrimRight(s, ".,;:!?…") }

// looksLikeDomain tells a domain from a number ("1.5") or an abbreviation.
func looksLikeDomain(s string) bool {
	host, _, _ := strings.Cut(s, "/")
	i := strings.LastIndexByte(host, '.')
	if i < 0 {
		return false
	}
	tld := strings.ToLower(host[i+1:])
	return len(tld) >= 2 && !strings.ContainsFunc(tld, unicode.IsDigit)
}

func clipFact(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// onlyDigits returns the digits of s.
func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// digitRuns returns the digits of every phone-like run in s, and of every
// plain number, so that "+1 (555) 010-0199" matches "15550100199".
func digitRuns(s string) map[string]bool {
	out := map[string]bool{}
	for _, p := range phonePattern.FindAllString(s, -1) {
		d := onlyDigits(p)
		out[d] = true
		// A leading + country code written in the answer but not the entry.
		for i := 1; i < len(d) && i <= 3; i++ {
			out[d[i:]] = true
		}
	}
	return out
}

// numbers returns the normalised numbers in s.
func numbers(s string) map[string]bool {
	out := map[string]bool{}
	for _, n := range numberPattern.FindAllString(s, -1) {
		out[normNumber(n)] = true
	}
	return out
}

// normNumber drops thousands separators and a zero fraction: "1,000.00",
// "1000" and "1.000" (as some locales write a thousand) compare equal.
func normNumber(n string) string {
	n = strings.TrimRight(n, ".,")
	if i := strings.LastIndexAny(n, ".,"); i >= 0 && len(n)-i-1 != 3 {
		n = strings.NewReplacer(",", "", ".", "").Replace(n[:i]) + "." + n[i+1:]
		n = strings.TrimSuffix(strings.TrimRight(n, "0"), ".")
		return n
	}
	return strings.NewReplacer(",", "", ".", "").Replace(n)
}

// Support is the share of answer's content words (lower-cased, stemmed,
// function words dropped) that occur in evidence, in [0, 1]. An answer
// with no content words has support 1: it asserts nothing.
func Support(answer, evidence string) float64 {
	aw := stems(answer)
	if len(aw) == 0 {
		return 1
	}
	ev := stems(evidence)
	n := 0
	for w := range aw {
		if ev[w] {
			n++
		}
	}
	return float64(n) / float64(len(aw))
}

// stems returns the set of stemmed content words in s, without the words
// that any answer may use whatever the entry says (answerGlue).
func stems(s string) map[string]bool {
	out := map[string]bool{}
	for w := range contentWords(s) {
		if answerGlue[w] {
			continue
		}
		out[stem(w)] = true
	}
	return out
}

// answerGlue are words a support answer adds around the facts it relays.
var answerGlue = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`sure happy glad help helps helping sorry unfortunately certainly course
		simply easily only need needs want wants like let know see find use make made go going follow following
		steps step here's heres there's theres below above once after before first next finally then
		able way ways via using one two more most other each every both either sure great`) {
		m[w] = true
	}
	return m
}()

// stem strips common English inflections, so that "refunds", "refunded"
// and "refunding" count as one word. It is deliberately crude: it only
// has to map a word and its inflections to one key.
func stem(w string) string {
	n := len(w)
	switch {
	case n > 5 && strings.HasSuffix(w, "ing"):
		w = w[:n-3]
	case n > 4 && strings.HasSuffix(w, "ied"), n > 4 && strings.HasSuffix(w, "ies"):
		w = w[:n-3] + "y"
	case n > 4 && strings.HasSuffix(w, "ed"):
		w = w[:n-2]
	case n > 4 && strings.HasSuffix(w, "es") && strings.ContainsAny(w[n-3:n-2], "sxz"):
		w = w[:n-2]
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		w = w[:n-1]
	}
	if n := len(w); n > 3 && w[n-1] == 'e' {
		w = w[:n-1] // "reset"/"resets" already agree; "use"/"using" now do
	}
	if n := len(w); n > 3 && w[n-1] == w[n-2] && !strings.ContainsRune("aeiouls", rune(w[n-1])) {
		w = w[:n-1] // "cancelled"→"cancell"→ stays; "stopped"→"stopp"→"stop"
	}
	return w
}

// words returns the lower-case words of s (letters and digits), in order.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// shingles returns the runs of n consecutive words, joined by spaces.
func shingles(ws []string, n int) []string {
	if len(ws) < n {
		return nil
	}
	out := make([]string, 0, len(ws)-n+1)
	for i := 0; i+n <= len(ws); i++ {
		out = append(out, strings.Join(ws[i:i+n], " "))
	}
	return slices.Compact(out)
}

// stripFormat removes format characters (\p{Cf}: zero-width spaces, the
// soft hyphen, bidirectional controls, tag characters), which may hide a
// link or a number from the patterns above.
func stripFormat(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
}

// Grounded runs the grounding check of answer against evidence (the cited
// entries' text) with the given minimum support and allow-list, and the
// embedded system prompt; for tests and tools.
func Grounded(answer, evidence string, minSupport float64, allowed []string) Grounding {
	g := newGrounder(minSupport, allowed, "")
	g.prompt = defaultPrompt()
	return g.check(answer, evidence)
}

// defaultPrompt holds the embedded system prompt's word runs, built once.
var defaultPrompt = sync.OnceValue(func() map[string]bool {
	return newGrounder(0, nil, prompts.Default().System()).prompt
})

// sentenceEnd splits an answer into sentences: at . ! ? … or a line break
// followed by space or the end.
var sentenceEnd = regexp.MustCompile(`[.!?…]+(?:\s+|$)|\n+`)

// minSentenceWords is the number of content words a sentence needs before
// its own support counts: "Let me know if anything else comes up." says
// nothing to check.
const minSentenceWords = 3

// SentenceSupport is the lowest Support of the answer's sentences that
// have at least minSentenceWords content words, or 1 when none has: a
// sentence appended to a genuine answer (an injected promise) shows here
// even when the answer as a whole is mostly supported.
func SentenceSupport(answer, evidence string) float64 {
	ev := stems(evidence)
	lowest := 1.0
	for _, s := range sentenceEnd.Split(answer, -1) {
		ws := stems(s)
		if len(ws) < minSentenceWords {
			continue
		}
		n := 0
		for w := range ws {
			if ev[w] {
				n++
			}
		}
		lowest = min(lowest, float64(n)/float64(len(ws)))
	}
	return lowest
}
