package slack

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/supportbot/supportbot/bot"
)

// Block ids of the hand-off message.
const (
	blockActions = "handoff_actions"
	blockStatus  = "handoff_status"
)

// modelLabel marks text the language model wrote, which agents should read
// as the model's claim rather than as the bot's finding.
const modelLabel = "_Written by the language model, not checked:_"

// Limits that keep every block under Slack's (3000 characters a section,
// 2000 a field), escaping included.
const (
	maxField    = 300
	maxSummary  = 1200
	maxDetail   = 500
	maxTurn     = 400
	maxRecent   = 2400
	maxDraft    = 2400
	maxQuestion = 150
	maxFAQ      = 5
	maxMirror   = 3500
	maxURL      = 1500
)

// handoffView is the state a hand-off message shows.
type handoffView struct {
	State bot.State
	// By is who claimed, resolved or handed back ("" unknown).
	By string
	// DraftSent hides the Send draft button after it was used.
	DraftSent bool
	// Hint tells agents how thread replies are relayed.
	Hint            string
	ConversationURL string
	// FAQMenu shows the "Send FAQ answer" menu of the entries considered;
	// FAQSent names the entry whose answer was sent.
	FAQMenu bool
	FAQSent string
}

// renderHandoff builds the hand-off packet's blocks and its notification
// text. Every string that a customer, a helpdesk or a model controls goes
// through sanitize and escape: it cannot mention (<!channel>), link, or forge
// a field with a line break.
func renderHandoff(e bot.Escalation, v handoffView) ([]slackapi.Block, string) {
	var blocks []slackapi.Block
	blocks = append(blocks, slackapi.NewHeaderBlock(plain(":sos: Customer hand-off")))

	customer := oneLine(e.Customer.Name, maxField)
	if customer == "" {
		customer = "_unknown_"
	}
	if email := oneLine(e.Customer.Email, maxField); email != "" {
		customer += "\n" + email
	}
	if e.Customer.Unverified {
		customer += "\n_unverified: as the visitor typed it_"
	}
	source := "`" + code(e.Trigger) + "` · " + oneLine(e.ConversationID, maxField)
	if e.URL != "" {
		if l := link(e.URL, "Open ticket"); l != "" {
			source += "\n" + l
		} else {
			source += "\n" + oneLine(e.URL, maxField)
		}
	}
	fields := []*slackapi.TextBlockObject{
		mrkdwn("*Customer*\n" + customer),
		mrkdwn("*From*\n" + source),
	}
	if s := oneLine(e.Subject, maxField); s != "" {
		fields = append(fields, mrkdwn("*Subject*\n"+s))
	}
	fields = append(fields, mrkdwn("*Reason*\n`"+code(e.Reason)+"`"))
	blocks = append(blocks, slackapi.NewSectionBlock(nil, fields, nil))

	why := "*Why:* " + oneLine(bot.ReasonText(e.Reason), maxField)
	if d := quote(e.Detail, maxDetail); d != "" {
		if e.Reason == bot.ReasonLLMEscalated || e.Reason == bot.ReasonLLMLowConfidence {
			// The model wrote this detail: it may repeat what a customer
			// told it to say.
			why += "\n" + modelLabel
		}
		why += "\n" + d
	}
	blocks = append(blocks, section(why))
	if s := quote(e.Summary, maxSummary); s != "" {
		// Only the language model writes summaries.
		blocks = append(blocks, section("*Summary*\n"+modelLabel+"\n"+s))
	}
	var faqs, passages []bot.Candidate
	for _, c := range e.Candidates {
		if c.Kind == bot.CandidateArticle {
			passages = append(passages, c)
		} else {
			faqs = append(faqs, c)
		}
	}
	if len(faqs) > 0 {
		var b strings.Builder
		b.WriteString("*FAQ entries considered*")
		for i, c := range faqs {
			if i == maxFAQ {
				fmt.Fprintf(&b, "\n…and %d more", len(faqs)-maxFAQ)
				break
			}
			fmt.Fprintf(&b, "\n• `%s` %s — %.2f", code(c.ID), oneLine(c.Question, maxQuestion), c.Score)
		}
		blocks = append(blocks, section(b.String()))
	}
	if len(passages) > 0 {
		blocks = append(blocks, section(renderPassages(passages)))
	}
	if r := renderRecent(e.Recent); r != "" {
		blocks = append(blocks, section("*Last messages*\n"+r))
	}
	if strings.TrimSpace(e.Rejected) != "" {
		blocks = append(blocks, section("*Answer the customer rejected*\n"+quote(e.Rejected, maxDraft)))
	}
	showDraft := strings.TrimSpace(e.Draft) != ""
	if showDraft {
		label := "*Draft answer* (not sent to the customer)"
		if v.DraftSent {
			label = "*Draft answer* (sent)"
		}
		blocks = append(blocks, section(label+"\n"+quote(e.Draft, maxDraft)))
	}

	status := statusLine(v)
	if v.FAQSent != "" {
		status += " FAQ answer `" + code(v.FAQSent) + "` sent."
	}
	if v.Hint != "" && (v.State == bot.StateEscalated || v.State == bot.StateAgent) {
		status += "\n" + v.Hint
	}
	if v.ConversationURL != "" {
		if l := link(v.ConversationURL, "Conversation"); l != "" {
			status += " · " + l
		}
	}
	blocks = append(blocks, slackapi.NewContextBlock(blockStatus, mrkdwn(status)))

	key := e.ConversationKey
	var buttons []slackapi.BlockElement
	switch v.State {
	case bot.StateEscalated:
		buttons = append(buttons, button(ActionClaim, "Claim", key).WithStyle(slackapi.StylePrimary))
		fallthrough
	case bot.StateAgent:
		buttons = append(buttons, button(ActionResolve, "Resolve", key), button(ActionHandBack, "Hand back to bot", key))
		if showDraft && !v.DraftSent {
			buttons = append(buttons, button(ActionSendDraft, "Send draft", key))
		}
		if menu := faqMenu(e.Candidates, v); menu != nil {
			buttons = append(buttons, menu)
		}
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slackapi.NewActionBlock(blockActions, buttons...))
	}

	who := oneLine(e.Customer.Name, 80)
	if who == "" {
		who = oneLine(e.ConversationID, 80)
	}
	text := fmt.Sprintf("Hand-off (%s): %s — %s", code(e.Reason), who, oneLine(bot.ReasonText(e.Reason), maxField))
	return blocks, text
}

// faqMenu is the "Send FAQ answer" menu: one option per entry considered,
// labelled with its id and question, valued with its id. nil without
// entries, or when the menu is off.
func faqMenu(cands []bot.Candidate, v handoffView) *slackapi.SelectBlockElement {
	if !v.FAQMenu {
		return nil
	}
	var opts []*slackapi.OptionBlockObject
	for _, c := range cands {
		// Slack caps an option's value at 150 characters and its text at 75.
		if c.ID == "" || len(c.ID) > 150 || len(opts) == 100 {
			continue
		}
		label := plainCut(c.ID+" · "+c.Question, 75)
		opts = append(opts, slackapi.NewOptionBlockObject(c.ID, plain(label), nil))
	}
	if len(opts) == 0 {
		return nil
	}
	return slackapi.NewOptionsSelectBlockElement(slackapi.OptTypeStatic, plain("Send FAQ answer"), ActionSendFAQ, opts...)
}

// plainCut renders untrusted text for a plain_text object: one line,
// sanitized, at most max characters with its "…".
func plainCut(s string, max int) string {
	s = strings.Join(strings.Fields(sanitize(s)), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

func statusLine(v handoffView) string {
	by := ""
	if v.By != "" {
		by = " by @" + oneLine(v.By, 80)
	}
	switch v.State {
	case bot.StateEscalated:
		return ":hourglass_flowing_sand: Waiting for an agent."
	case bot.StateAgent:
		return ":raising_hand: Claimed" + by + "."
	case bot.StateResolved:
		return ":white_check_mark: Resolved" + by + "."
	case bot.StateBot:
		return ":leftwards_arrow_with_hook: Handed back to the bot" + by + "."
	}
	return ""
}

func renderRecent(turns []bot.Turn) string {
	var parts []string
	total := 0
	// Newest last; when over budget, keep the newest.
	for i := len(turns) - 1; i >= 0; i-- {
		t := turns[i]
		q := quote(t.Text, maxTurn)
		if q == "" {
			continue
		}
		p := "*" + authorLabel(t.Author) + "*\n" + q
		if total+len(p) > maxRecent {
			break
		}
		total += len(p) + 1
		parts = append(parts, p)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "\n")
}

func authorLabel(a string) string {
	switch a {
	case bot.AuthorCustomer:
		return "Customer"
	case bot.AuthorBot:
		return "Bot"
	case bot.AuthorAgent:
		return "Agent"
	}
	return oneLine(a, 40)
}

// renderMirror is the thread message for a customer's follow-up.
func renderMirror(m bot.Turn) string {
	q := quote(m.Text, maxMirror)
	if q == "" {
		q = "_(empty message)_"
	}
	return ":speech_balloon: *" + authorLabel(cmpAuthor(m.Author)) + " wrote:*\n" + q
}

func cmpAuthor(a string) string {
	if a == "" {
		return bot.AuthorCustomer
	}
	return a
}

// handoffHint tells agents how their thread replies are relayed.
func handoffHint(c Config) string {
	if c.Relay == RelayExplicit {
		return "Only thread replies that start with `" + code(c.RelayPrefix) + "` are sent to the customer."
	}
	return "Thread replies are sent to the customer; start one with `" + code(c.NotePrefix) + "` for an internal note."
}

func plain(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, true, false)
}

func mrkdwn(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
}

func section(s string) *slackapi.SectionBlock {
	return slackapi.NewSectionBlock(mrkdwn(s), nil, nil)
}

func button(actionID, label, value string) *slackapi.ButtonBlockElement {
	return slackapi.NewButtonBlockElement(actionID, value, plain(label))
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape neutralises text for Slack mrkdwn: with &, < and > escaped, no
// <!channel>, <@user> or <url|label> can be formed.
func escape(s string) string { return escaper.Replace(s) }

// sanitize makes s valid UTF-8, normalises line breaks to \n, and drops
// control characters (but \n and \t) and bidirectional overrides, which
// could disguise text.
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r', r == '\u2028', r == '\u2029':
			return '\n'
		case unicode.IsControl(r),
			r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069',
			r == '\u200E', r == '\u200F', r == '\u061C':
			return -1
		}
		return r
	}, s)
}

// oneLine renders an untrusted single-line field: line breaks and runs of
// white space become one space (no forged "*Reason*" line), escaped, and at
// most max characters long once escaped.
func oneLine(s string, max int) string {
	return escapeMax(strings.Join(strings.Fields(sanitize(s)), " "), max)
}

// quote renders untrusted multi-line text as a Slack block quote of at most
// max characters: each line gets our own ">" prefix after escaping, so the
// text cannot end the quote and pose as the message's own lines.
func quote(s string, max int) string {
	s = strings.TrimSpace(sanitize(s))
	if s == "" {
		return ""
	}
	var b strings.Builder
	n := 0
	for i, l := range strings.Split(s, "\n") {
		prefix := ">"
		if i > 0 {
			prefix = "\n>"
		}
		if n+len(prefix)+1 > max {
			if n < max {
				b.WriteString("…")
			}
			break
		}
		b.WriteString(prefix)
		n += len(prefix)
		e, cut := escapeCut(l, max-n)
		b.WriteString(e)
		n += utf8.RuneCountInString(e)
		if cut {
			break
		}
	}
	return b.String()
}

// code renders a short identifier for a code span.
func code(s string) string {
	s = strings.ReplaceAll(strings.Join(strings.Fields(sanitize(s)), " "), "`", "'")
	if s == "" {
		return "-"
	}
	return escapeMax(s, 100)
}

// escapeMax escapes s and cuts it, never inside an entity, so that the
// result with its "…" is at most max characters.
func escapeMax(s string, max int) string {
	e, _ := escapeCut(s, max)
	return e
}

// escapeCut is escapeMax that also reports whether s was cut.
func escapeCut(s string, max int) (string, bool) {
	if e := escape(s); utf8.RuneCountInString(e) <= max {
		return e, false
	}
	if max <= 0 {
		return "", true
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		var piece string
		switch r {
		case '&':
			piece = "&amp;"
		case '<':
			piece = "&lt;"
		case '>':
			piece = "&gt;"
		default:
			piece = string(r)
		}
		w := utf8.RuneCountInString(piece)
		if n+w > max-1 {
			break
		}
		b.WriteString(piece)
		n += w
	}
	return b.String() + "…", true
}

// linkEscaper keeps a URL inside Slack's <url|label> syntax.
var linkEscaper = strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E", "&", "&amp;")

// link renders an http(s) URL as a Slack link, or "" when the URL is not a
// plain absolute http(s) URL.
func link(raw, label string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	s := u.String()
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return ""
	}
	if s = linkEscaper.Replace(s); len(s) > maxURL {
		return ""
	}
	return "<" + s + "|" + escape(label) + ">"
}

// slackMarkup matches Slack's <…> entities: mentions, channels, special
// commands and links, with an optional |label.
var slackMarkup = regexp.MustCompile(`<([^<>|]*)(?:\|([^<>]*))?>`)

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// plainText turns a Slack message's text into what the customer reads:
// mentions become @name (mention resolves a user id), links "label (url)",
// entities are unescaped.
func plainText(s string, mention func(userID string) string) string {
	s = slackMarkup.ReplaceAllStringFunc(s, func(m string) string {
		sub := slackMarkup.FindStringSubmatch(m)
		target, label := sub[1], sub[2]
		switch {
		case strings.HasPrefix(target, "@"):
			if label != "" {
				return "@" + strings.TrimPrefix(label, "@")
			}
			if mention != nil {
				return "@" + mention(target[1:])
			}
			return "@" + target[1:]
		case strings.HasPrefix(target, "#"):
			if label != "" {
				return "#" + label
			}
			return "#channel"
		case strings.HasPrefix(target, "!"):
			if label != "" {
				return label
			}
			switch target {
			case "!here", "!channel", "!everyone":
				return "@" + target[1:]
			}
			return ""
		}
		u := strings.TrimPrefix(target, "mailto:")
		if label == "" || label == target || label == u {
			return u
		}
		return label + " (" + u + ")"
	})
	return unescaper.Replace(s)
}

// Block id of the relay notice's button.
const blockRelayActions = "relay_actions"

// renderRelayNotice is the thread message under a relayed agent reply:
// "Relayed to the customer" with the Save as FAQ button, or, once saved,
// the suggestion's state in its place.
func renderRelayNotice(replyID string, sg *bot.FAQSuggestion) ([]slackapi.Block, string) {
	const relayed = ":white_check_mark: Relayed to the customer."
	blocks := []slackapi.Block{slackapi.NewContextBlock("", mrkdwn(relayed))}
	if sg == nil {
		blocks = append(blocks, slackapi.NewActionBlock(blockRelayActions, button(ActionSaveFAQ, "Save as FAQ", replyID)))
		return blocks, "Relayed to the customer ✓"
	}
	line := fmt.Sprintf(":bookmark: Suggested for the FAQ by @%s (#%d)", oneLine(sg.SuggestedBy, 80), sg.ID)
	switch sg.Status {
	case bot.SuggestionApproved:
		line += ", approved as `" + code(sg.EntryID) + "`."
	case bot.SuggestionRejected:
		line += ", rejected."
	default:
		line += ", waiting for review."
	}
	blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(line)))
	return blocks, "Relayed to the customer ✓ · suggested for the FAQ"
}

// renderReannounce is the reminder of an unclaimed hand-off; mention is
// Slack markup from MentionMarkup (trusted), everything else is escaped.
func renderReannounce(e bot.Escalation, waited time.Duration, mention string) string {
	text := ":alarm_clock: *Still unclaimed*"
	if waited > 0 {
		text = fmt.Sprintf(":alarm_clock: *Still unclaimed after %d min*", int(waited/time.Minute))
	}
	if mention != "" {
		text += " — " + mention
	}
	who := oneLine(e.Customer.Name, 80)
	if who == "" {
		who = oneLine(e.ConversationID, 80)
	}
	if s := oneLine(e.Subject, maxField); s != "" {
		who += " · " + s
	}
	if who != "" {
		text += "\n" + who
	}
	return text
}

// renderPassages lists the article passages considered: title (linked
// when the article has a link), heading path and relevancy.
func renderPassages(ps []bot.Candidate) string {
	var b strings.Builder
	b.WriteString("*Article passages considered*")
	for i, c := range ps {
		if i == maxFAQ {
			fmt.Fprintf(&b, "\n…and %d more", len(ps)-maxFAQ)
			break
		}
		title := oneLine(c.Question, maxQuestion)
		if u := c.URL; u != "" && (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) && !strings.ContainsAny(u, "<>| ") {
			title = "<" + u + "|" + title + ">"
		}
		fmt.Fprintf(&b, "\n• %s", title)
		if c.Heading != "" {
			fmt.Fprintf(&b, " › %s", oneLine(c.Heading, maxQuestion))
		}
		fmt.Fprintf(&b, " (`%s`) — %.2f", code(c.ID), c.Score)
	}
	return b.String()
}
