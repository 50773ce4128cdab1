package policy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/supportbot/supportbot/bot"
)

// Help-center articles beside the FAQ. An FAQ entry the matcher is
// confident in wins; otherwise, without an LLM, the best article passage
// answers when its relevancy reaches the articles' threshold ("This
// article answers it: …" with the article's title and link), and the turn
// escalates out_of_scope when it does not. With an LLM, the best passages
// are shown to the model beside the FAQ entries, with their passage ids;
// its answer must cite them and pass the grounding check against the cited
// passages, and goes out with "Source: <title> <url>".

// Passage is a retrieved article passage.
type Passage struct {
	// ID is the passage id, "<article id>#<n>".
	ID        string
	ArticleID string
	Title     string
	// Heading is the passage's heading path, "A › B".
	Heading string
	URL     string
	Text    string
	// Score is the retriever's ranking score, Relevance its relevancy in [0, 1].
	Score     float64
	Relevance float64
}

// ArticleRetriever returns the k best passages for a text, best first (at
// most one per article), and the relevancy at or above which the best may
// be sent. ready is false while the index is being built.
//
// ctx bounds the work (with embeddings, a call to the model's API); a
// retriever that fails returns its lexical ranking, never an error.
type ArticleRetriever interface {
	RetrievePassages(ctx context.Context, text string, k int) (passages []Passage, threshold float64, ready bool)
}

// Defaults of the articles.
const (
	// DefaultPassages is the number of passages shown to the LLM and to agents.
	DefaultPassages = 4
	// MaxPassageChars trims the passage of a local answer to a readable length.
	MaxPassageChars = 700
)

// ArticleIntro opens a local answer from an article.
const ArticleIntro = "This article answers it: "

// fetchPassages retrieves the turn's passages.
func (t *turn) fetchPassages(ctx context.Context) []Passage {
	if t.p.Articles == nil {
		return nil
	}
	// With embeddings the retriever calls the model's API: bounded like an LLM call.
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(t.p.LLMTimeout, DefaultLLMTimeout))
	defer cancel()
	ps, threshold, ready := t.p.Articles.RetrievePassages(ctx, t.q.Text, t.p.passageCount())
	if !ready {
		return nil
	}
	t.ps, t.psThreshold = ps, threshold
	for _, p := range ps {
		t.cands = append(t.cands, bot.Candidate{ID: p.ID, Question: p.Title, Heading: p.Heading, URL: p.URL, Score: p.Relevance, Kind: bot.CandidateArticle})
	}
	return t.ps
}

func (p *Policy) passageCount() int {
	if p.Passages > 0 {
		return p.Passages
	}
	return DefaultPassages
}

// faqConfident reports whether the matcher's best entry would be sent.
func (t *turn) faqConfident() bool {
	return len(t.hits) > 0 && t.hits[0].Score >= t.threshold
}

// article is the local decision from the articles: an answer from the
// best passage when it is a confident match, or false.
func (t *turn) article() (bot.Decision, bool) {
	ps := t.ps
	if len(ps) == 0 || ps[0].Relevance < t.psThreshold {
		return bot.Decision{}, false
	}
	best := ps[0]
	text, sources := articleAnswer(best)
	// The web chat shows the source as a Markdown link: either form is
	// the same answer.
	md := bot.Decision{Answer: text, Sources: sources}.AnswerText(true)
	if repeatedAnswer(t.q.History, text) || repeatedAnswer(t.q.History, md) {
		return t.escalate(bot.ReasonRepeatedQuestion, "the bot already sent this answer"), true
	}
	return bot.Decision{
		Action: bot.ActionAnswer, Answer: text, Sources: sources, FAQIDs: []string{best.ID},
		Confidence: best.Relevance, Candidates: t.cands, Source: "articles",
	}, true
}

// articleAnswer is the local answer from a passage: the article's title,
// the passage trimmed to a readable length, and its source line (plain
// text: the channel's reply may show it as a link, see
// bot.Decision.AnswerText).
func articleAnswer(p Passage) (string, []bot.Source) {
	text := ArticleIntro + p.Title + "\n\n" + TrimPassage(p.Text, MaxPassageChars)
	if p.URL == "" {
		return text, nil
	}
	sources := []bot.Source{{Title: p.Title, URL: p.URL}}
	return bot.WithSources(text, sources, false), sources
}

// SourceLine is "Source: <title> <url>", or "" without a URL.
func SourceLine(title, url string) string {
	return bot.SourceLine(bot.Source{Title: title, URL: url}, false)
}

// TrimPassage cuts text to at most n bytes at a sentence end when one falls
// in its second half, else at a word, with "…" when cut.
func TrimPassage(text string, n int) string {
	text = strings.TrimSpace(text)
	if len(text) <= n {
		return text
	}
	cut := bot.Clip(text, n)
	cut = strings.TrimSuffix(cut, "…")
	for i := len(cut) - 1; i > n/2; i-- {
		if strings.ContainsRune(".?!", rune(cut[i])) && (i+1 == len(cut) || cut[i+1] == ' ' || cut[i+1] == '\n') {
			return cut[:i+1] + " …"
		}
	}
	if i := strings.LastIndexAny(cut, " \n"); i > n/2 {
		cut = cut[:i]
	}
	return cut + " …"
}

// passageHits are the passages as entries for the LLM: the id is the
// passage id, the "question" the title and heading path.
func passageHits(ps []Passage) []Hit {
	out := make([]Hit, len(ps))
	for i, p := range ps {
		q := p.Title
		if p.Heading != "" {
			q += " › " + p.Heading
		}
		out[i] = Hit{ID: p.ID, Question: q, Answer: p.Text, Score: p.Relevance, Passage: &ps[i]}
	}
	return out
}

// withSources appends a source line for each cited passage with a link
// the answer does not already have, and returns those sources.
func (t *turn) withSources(answer string, cited []string) (string, []bot.Source) {
	var sources []bot.Source
	for _, p := range t.ps {
		s := bot.Source{Title: p.Title, URL: p.URL}
		if slices.Contains(cited, p.ID) && p.URL != "" && !slices.Contains(sources, s) && !strings.Contains(answer, p.URL) {
			sources = append(sources, s)
		}
	}
	return bot.WithSources(answer, sources, false), sources
}

// unknownCitationError is a reply that cites ids the model was not given.
type unknownCitationError struct{ ids []string }

func (e *unknownCitationError) Error() string {
	return fmt.Sprintf("cited ids %q were not among the entries given", e.ids)
}
