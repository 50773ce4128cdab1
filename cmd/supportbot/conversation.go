package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/supportbot/supportbot/bot/worker"
	"github.com/supportbot/supportbot/faq"
	"github.com/supportbot/supportbot/faq/acts"
	"github.com/supportbot/supportbot/triggers"
)

// maxActText caps the texts of the bot's replies to acts.
const maxActText = 2000

// checkConversation validates the conversation keys and the per-trigger
// greeting and confirm settings.
func checkConversation(c *Config) error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	cc := c.Conversation
	if cc.ActsFile != "" {
		if _, err := loadActs(cc); err != nil {
			add("conversation.acts_file", "%v", err)
		}
	}
	if cc.ConfirmText == "" {
		add("conversation.confirm_text", "required")
	}
	for key, s := range map[string]string{
		"conversation.greeting": cc.Greeting, "conversation.closing": cc.Closing,
		"conversation.welcome": cc.Welcome, "conversation.goodbye": cc.Goodbye, "conversation.confirm_text": cc.ConfirmText,
	} {
		if len(s) > maxActText {
			add(key, "longer than %d bytes", maxActText)
		}
	}
	if len(cc.ChoiceText) > maxActText {
		add("conversation.choice_text", "longer than %d bytes", maxActText)
	}
	for i, t := range c.Triggers {
		if len(t.Greeting) > maxActText {
			add(fmt.Sprintf("triggers[%d] (%s).greeting", i, t.Name), "longer than %d bytes", maxActText)
		}
	}
	return errors.Join(errs...)
}

// loadActs returns the recognizer of the configured phrase list (nil when
// acts are off).
func loadActs(cc ConversationConfig) (*acts.Recognizer, error) {
	if !cc.Acts {
		return nil, nil
	}
	if cc.ActsFile == "" {
		return acts.Default(), nil
	}
	data, err := os.ReadFile(cc.ActsFile)
	if err != nil {
		return nil, fmt.Errorf("read acts file: %w", err)
	}
	r, err := acts.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", cc.ActsFile, err)
	}
	return r, nil
}

// triggerSettings are a trigger's conversation settings: the confirm
// question is on by default for the web chat only, and only the web chat's
// replies show sources as Markdown links (helpdesks and reply webhooks
// get plain text).
func triggerSettings(tc triggers.Config) worker.TriggerSettings {
	confirm := tc.Kind == "web"
	if tc.Confirm != nil {
		confirm = *tc.Confirm
	}
	return worker.TriggerSettings{Greeting: tc.Greeting, Confirm: confirm, MarkdownLinks: tc.Reply.Kind == "web"}
}

// kbActReply finds the operator's own reply to an act: the answer of the
// knowledge-base entry whose id, or one of whose tags, is the act's name
// ("greeting", "thanks", "goodbye").
func kbActReply(kb *faq.KB, act acts.Act) (string, bool) {
	if kb == nil {
		return "", false
	}
	for _, e := range kb.Entries {
		if e.ID == string(act) || slices.Contains(e.Tags, string(act)) {
			return e.Answer, true
		}
	}
	return "", false
}

// actReply reads the live knowledge base for kbActReply.
func (s *faqService) actReply(act acts.Act) (string, bool) {
	m := s.live.Current()
	if m == nil {
		return "", false
	}
	return kbActReply(m.KB(), act)
}

// wireActs gives the engine the conversation acts, their texts and each
// trigger's settings.
func (m *Main) wireActs(eng *worker.Engine) error {
	cc := m.Config.Conversation
	r, err := loadActs(cc)
	if err != nil {
		return &ConfigError{fmt.Errorf("conversation.acts_file: %w", err)}
	}
	eng.Acts = r
	eng.GreetingText, eng.ClosingText, eng.WelcomeText, eng.GoodbyeText, eng.ConfirmText = cc.Greeting, cc.Closing, cc.Welcome, cc.Goodbye, cc.ConfirmText
	eng.TriggerFunc = func(name string) worker.TriggerSettings {
		e, ok := m.Triggers.Get(name)
		if !ok {
			return worker.TriggerSettings{}
		}
		return triggerSettings(e.Config)
	}
	eng.ActReplyFunc = m.FAQ.actReply
	if cc.AskCloseCalls {
		eng.EntryAnswerFunc, eng.ChoiceText = m.FAQ.entryAnswer, cc.ChoiceText
	}
	return nil
}

// entryAnswer reads an entry's answer from the live knowledge base: the
// answer to a close call the customer settled by picking the entry.
func (s *faqService) entryAnswer(id string) (string, bool) {
	m := s.live.Current()
	if m == nil || m.KB() == nil {
		return "", false
	}
	e, ok := m.KB().Entry(id)
	return e.Answer, ok
}

// ActOutcome is what the engine does with a message that is a conversation
// act, as `supportbot ask` shows it: after a bot answer (or its confirm
// question) and otherwise.
type ActOutcome struct {
	Act         acts.Act `json:"act"`
	AfterAnswer string   `json:"after_answer"`
	Otherwise   string   `json:"otherwise"`
}

// describeAct says what the engine does with act, in the words of its
// replies.
func describeAct(cc ConversationConfig, kb *faq.KB, act acts.Act) ActOutcome {
	text := func(a acts.Act, def string) string {
		if s, ok := kbActReply(kb, a); ok {
			return s
		}
		return def
	}
	quote := func(s string) string {
		if s == "" {
			return "no reply"
		}
		return fmt.Sprintf("reply %q", s)
	}
	closing := quote(text(act, cc.Closing)) + ", resolved as confirmed"
	o := ActOutcome{Act: act}
	switch act {
	case acts.Greeting:
		o.AfterAnswer = quote(text(act, cc.Greeting)) + ", the next message is answered as a question"
		o.Otherwise = o.AfterAnswer
	case acts.Thanks:
		o.AfterAnswer, o.Otherwise = closing, quote(text(act, cc.Welcome))
	case acts.Goodbye:
		o.AfterAnswer, o.Otherwise = closing, quote(text(act, cc.Goodbye))
	case acts.Yes:
		o.AfterAnswer = closing + " (an answer to the confirm question)"
		o.Otherwise = "decided as an ordinary message"
	case acts.No:
		o.AfterAnswer = "escalated, reason answer_rejected (an answer to the confirm question)"
		o.Otherwise = "decided as an ordinary message"
	case acts.Rejection:
		o.AfterAnswer = "escalated, reason answer_rejected, with the rejected answer"
		o.Otherwise = "decided as an ordinary message"
	}
	return o
}

// askAct prints the act of an asked message. It returns the text to decide
// on (the question after an opening greeting or thanks), or done when the
// message is an act the engine answers itself.
func (c *cli) askAct(cc ConversationConfig, kb *faq.KB, text string, asJSON bool) (string, bool, error) {
	r, err := loadActs(cc)
	if err != nil || r == nil {
		return text, false, err
	}
	res := r.Parse(text)
	if res.Act != acts.None {
		o := describeAct(cc, kb, res.Act)
		if asJSON {
			return "", true, json.NewEncoder(c.stdout).Encode(o)
		}
		fmt.Fprintf(c.stdout, "act:        %s (answered by the bot itself, before the FAQ)\n", o.Act)
		fmt.Fprintf(c.stdout, "after an answer: %s\n", o.AfterAnswer)
		fmt.Fprintf(c.stdout, "otherwise:       %s\n", o.Otherwise)
		return "", true, nil
	}
	switch res.Lead {
	case acts.Greeting, acts.Thanks, acts.Goodbye:
		if !asJSON {
			fmt.Fprintf(c.stdout, "act:        %s opens the message; deciding on %q\n", res.Lead, res.Rest)
		}
		return res.Rest, false, nil
	}
	return text, false, nil
}
