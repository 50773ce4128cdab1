package policy

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/supportbot/supportbot/bot"
)

// humanRequest matches a customer asking for a person. It errs towards
// escalating: a false positive costs an agent a minute, a false negative
// costs a customer who asked for a person.
var humanRequest = regexp.MustCompile(`(?im)\b(` +
	`(talk|speak|chat|connect|transfer|put|pass|escalate)( me| this| it)?( through| over)? (to|with) (a |an |some |your |the )?(real |live |actual |human )?(human|person|people|agent|representative|rep|someone|somebody|operator|staff|support team|manager|supervisor)` +
	`|(real|live|actual) (human|person|people|agent)` +
	`|human (agent|being|please|support)` +
	`|(need|want|prefer) (a |an )?(human|person|agent|representative|operator|manager|supervisor)\b` +
	`|(get|give|find) me (a |an )?(real |live )?(human|person|agent|representative|operator|manager|supervisor|someone|somebody)` +
	`|(is there|are there|can i get|could i get|can i have|may i have) (a |an |any )?(real |live )?(human|person|people|someone|somebody)` +
	`|customer (service|support) (agent|representative|rep)` +
	`)\b` +
	`|^\s*(agent|human|operator|representative|person|a human|a person)( please)?\s*[.!?]*\s*$`)

// negated matches a negation just before a human-request phrase: "I don't
// need a person", "no need to talk to someone".
var negated = regexp.MustCompile(`(?i)\b(don'?t|don’t|do not|doesn'?t|does not|no need|never|not)\b[\w\s'’]{0,20}$`)

// asksForHuman reports whether text asks for a person.
func asksForHuman(text string) bool {
	for _, m := range humanRequest.FindAllStringIndex(text, -1) {
		start := max(m[0]-40, 0)
		if !negated.MatchString(text[start:m[0]]) {
			return true
		}
	}
	return false
}

// previousQuestion returns the customer turn(s) that the bot's latest
// message in history answered, joined, or "" when the bot has not spoken.
func previousQuestion(history []bot.Turn) string {
	b := -1
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].Author == bot.AuthorBot {
			b = i
			break
		}
	}
	var parts []string
	for i := b - 1; i >= 0 && history[i].Author == bot.AuthorCustomer; i-- {
		parts = append([]string{history[i].Text}, parts...)
	}
	return strings.Join(parts, "\n")
}

// repeatedAnswer reports whether the bot already sent answer in history: the
// customer is asking again because it did not help.
func repeatedAnswer(history []bot.Turn, answer string) bool {
	answer = strings.TrimSpace(answer)
	for _, t := range history {
		if t.Author == bot.AuthorBot && strings.TrimSpace(t.Text) == answer {
			return true
		}
	}
	return false
}

// minRepeatTokens is the number of content words a question needs before a
// near-copy of it counts as a repeat: "thanks" twice is not frustration.
const minRepeatTokens = 2

// Similarity is the token overlap of two texts, in [0, 1]: the Jaccard
// index of their sets of content words (lower-cased, punctuation and common
// function words dropped). It is 0 when either text has no content words.
func Similarity(a, b string) float64 {
	return similarity(contentWords(a), contentWords(b))
}

// similarity is the Jaccard similarity of two sets of content words.
func similarity(ta, tb map[string]bool) float64 {
	if len(ta) == 0 || len(tb) == 0 {
		return 0
	}
	inter := 0
	for w := range ta {
		if tb[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(ta)+len(tb)-inter)
}

// apostrophes drops apostrophes inside words: "don't" and "dont" are one.
var apostrophes = strings.NewReplacer("'", "", "’", "")

// contentWords returns the set of content words in s.
func contentWords(s string) map[string]bool {
	words := map[string]bool{}
	for _, f := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
	}) {
		f = apostrophes.Replace(f)
		if f == "" || stopwords[f] {
			continue
		}
		words[f] = true
	}
	return words
}

// stopwords are English function words, and fillers customers add when they
// ask again ("again", "still", "please"), that say nothing about the topic.
var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the and or but if so to of in on at by for from with about into
		over as is are was were be been being am do does did done have has had having i me my mine we us our
		you your yours he him his she her it its they them their this that these those there here what which
		who whom whose when where why how can could would should will shall may might must not no yes ok okay
		im ive id youre dont doesnt didnt cant cannot wont isnt arent wasnt just again still please pls plz
		hi hello hey thanks thank any some all get got then than too very also now`) {
		m[w] = true
	}
	return m
}()
