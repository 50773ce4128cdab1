package slack

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/supportbot/supportbot/bot"
)

// Transition reasons recorded for agents' actions.
const (
	reasonResolved   = "resolved in slack"
	reasonHandedBack = "handed back in slack"
)

// replyID derives a reply's id from its dedupe key, so a retried job names
// the same reply (the id is the idempotency key sent downstream).
func replyID(dedupeKey string) string {
	sum := sha256.Sum256([]byte(dedupeKey))
	return "rpl_" + hex.EncodeToString(sum[:16])
}

// handleEventJob relays an agent's thread reply to the customer, once.
func (e *Escalator) handleEventJob(ctx context.Context, j *bot.Job) (bot.JobOutcome, error) {
	var env envelope
	if err := json.Unmarshal(j.Payload, &env); err != nil {
		return bot.JobOutcome{}, bot.Permanent(fmt.Errorf("decode slack event: %w", err))
	}
	ev := env.Event
	if !ev.relayable() {
		return bot.JobOutcome{}, nil
	}
	selfUser, selfBot, err := e.names.self(ctx)
	if err != nil {
		return bot.JobOutcome{}, err
	}
	if ev.User == selfUser || ev.User == selfBot {
		return bot.JobOutcome{}, nil // our own post: never relay it back
	}
	c, err := e.store.ConversationByThread(ctx, ev.Channel, ev.ThreadTS)
	if errors.Is(err, bot.ErrNotFound) {
		return bot.JobOutcome{}, nil // a thread that is not a hand-off
	} else if err != nil {
		return bot.JobOutcome{}, err
	}
	log := e.logger.With("conversation", c.Key, "event_id", env.EventID)
	text, relay := e.relayText(ctx, ev.Text)
	if !relay {
		log.Debug("thread message not relayed (internal note or not marked)")
		return bot.JobOutcome{}, nil
	}
	if c.State != bot.StateEscalated && c.State != bot.StateAgent {
		msg := fmt.Sprintf("Not sent: this conversation is %s, so the customer does not see replies here.", stateWords(c.State))
		return bot.JobOutcome{}, e.ephemeral(ctx, ev.Channel, ev.User, ev.ThreadTS, msg)
	}
	name, err := e.names.displayName(ctx, ev.User, "")
	if err != nil {
		return bot.JobOutcome{}, err
	}
	dedupe := "slack:" + ev.Channel + ":" + ev.TS
	rid := replyID(dedupe)
	queued, err := e.store.QueueAgentReply(ctx, dedupe, bot.Reply{
		ID: rid, ConversationKey: c.Key, Kind: bot.ReplyAgent,
		Author: bot.AuthorAgent, AgentName: name, Text: text, CreatedAt: e.Now().UTC(),
	})
	if err != nil {
		return bot.JobOutcome{}, err
	}
	if !queued {
		// Relayed before: by an earlier run of this job that failed after
		// it, or through another delivery of the same message. Queue the
		// notice in case that run stopped short of it (a no-op otherwise).
		log.Debug("agent reply relayed before", "dedupe_key", dedupe)
		return bot.JobOutcome{}, e.queueRelayNotice(ctx, rid, ev.Channel, ev.ThreadTS)
	}
	log.Info("agent reply relayed", "agent", name)
	if c.State == bot.StateEscalated {
		// Answering claimed the conversation; show it. The reply is queued
		// already, so a failed update is logged, not retried.
		if err := e.refresh(ctx, c.Key, ev.Channel, ev.ThreadTS, handoffView{}); err != nil {
			log.Warn("update hand-off after reply", "err", err)
		}
	}
	return bot.JobOutcome{}, e.queueRelayNotice(ctx, rid, ev.Channel, ev.ThreadTS)
}

// queueRelayNotice queues the "Relayed to the customer" notice of a reply,
// once: the Slack inbox is unique on the id, so a retried relay job does
// not post it twice, and the notice's own job gets the queue's retries
// without repeating the relay.
func (e *Escalator) queueRelayNotice(ctx context.Context, rid, channel, threadTS string) error {
	p := bot.EncodePayload(bot.RelayNoticePayload{ReplyID: rid, Channel: channel, ThreadTS: threadTS})
	if _, err := e.store.IngestSlack(ctx, "relayed:"+rid, JobRelayNotice, lane(channel, threadTS), p); err != nil {
		return fmt.Errorf("queue relay notice: %w", err)
	}
	return nil
}

// handleRelayNoticeJob posts the notice, with its Save as FAQ button, in
// the hand-off thread.
func (e *Escalator) handleRelayNoticeJob(ctx context.Context, j *bot.Job) (bot.JobOutcome, error) {
	n, err := bot.DecodePayload[bot.RelayNoticePayload](j)
	if err != nil || n.ReplyID == "" || n.Channel == "" || n.ThreadTS == "" {
		return bot.JobOutcome{}, bot.Permanent(fmt.Errorf("decode relay notice: %w", cmp.Or(err, errBadRequest)))
	}
	blocks, text := renderRelayNotice(n.ReplyID, nil)
	cctx, cancel := e.call(ctx)
	defer cancel()
	_, _, err = e.api.PostMessageContext(cctx, n.Channel,
		slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(blocks...),
		slackapi.MsgOptionTS(n.ThreadTS),
	)
	return bot.JobOutcome{}, classify("post relay notice", err)
}

// relayText returns the customer-facing text of an agent's thread message
// and whether it is relayed: internal notes (NotePrefix) never are; in
// explicit mode only messages starting with RelayPrefix are. A leading
// RelayPrefix is stripped in both modes.
func (e *Escalator) relayText(ctx context.Context, slackText string) (string, bool) {
	text := strings.TrimSpace(plainText(slackText, func(id string) string {
		name, err := e.names.displayName(ctx, id, id)
		if err != nil {
			return id
		}
		return name
	}))
	if strings.HasPrefix(text, e.cfg.NotePrefix) {
		return "", false
	}
	marked := strings.HasPrefix(text, e.cfg.RelayPrefix)
	if e.cfg.Relay == RelayExplicit && !marked {
		return "", false
	}
	if marked {
		text = strings.TrimSpace(strings.TrimPrefix(text, e.cfg.RelayPrefix))
	}
	return text, text != ""
}

// handleActionJob carries out a click on the hand-off's buttons.
func (e *Escalator) handleActionJob(ctx context.Context, j *bot.Job) (bot.JobOutcome, error) {
	var ic slackapi.InteractionCallback
	if err := json.Unmarshal(j.Payload, &ic); err != nil {
		return bot.JobOutcome{}, bot.Permanent(fmt.Errorf("decode slack interaction: %w", err))
	}
	if ic.Type != slackapi.InteractionTypeBlockActions {
		return bot.JobOutcome{}, nil
	}
	for _, a := range ic.ActionCallback.BlockActions {
		var err error
		switch {
		case a.ActionID == ActionSaveFAQ:
			err = e.saveFAQ(ctx, &ic, a)
		case a.ActionID == ActionSendFAQ:
			err = e.sendFAQ(ctx, &ic, a)
		case isHandoffAction(a.ActionID):
			err = e.act(ctx, &ic, a)
		default:
			continue
		}
		if err != nil {
			return bot.JobOutcome{}, fmt.Errorf("%s: %w", a.ActionID, err)
		}
	}
	return bot.JobOutcome{}, nil
}

// saveFAQ records a click on Save as FAQ: the customer's question and the
// relayed answer become a pending suggestion, once per reply, and the notice
// shows it in place of the button. A double click, by anyone, finds the
// suggestion stored and only re-renders the notice.
func (e *Escalator) saveFAQ(ctx context.Context, ic *slackapi.InteractionCallback, a *slackapi.BlockAction) error {
	channel, ts := actionThread(ic)
	threadTS := cmp.Or(ic.Container.ThreadTs, ic.Message.ThreadTimestamp)
	user, rid := ic.User.ID, a.Value
	log := e.logger.With("action", a.ActionID, "user", user, "reply_id", rid)
	sg, err := e.store.SuggestionSource(ctx, rid)
	if _, invalid := errors.AsType[*bot.ValidationError](err); invalid || errors.Is(err, bot.ErrNotFound) {
		log.Warn("save as faq: not an agent reply", "err", err)
		return e.ephemeral(ctx, channel, user, threadTS, "This message cannot be saved as an FAQ entry.")
	} else if err != nil {
		return err
	}
	if strings.TrimSpace(sg.Question) == "" {
		return e.ephemeral(ctx, channel, user, threadTS,
			"No customer question was found before this reply, so it cannot be suggested for the FAQ.")
	}
	if sg.SuggestedBy, err = e.names.displayName(ctx, user, cmp.Or(ic.User.Name, ic.User.Username)); err != nil {
		return err
	}
	id, created, err := e.store.SuggestFAQ(ctx, sg)
	if err != nil {
		return err
	}
	if created {
		log.Info("faq suggested", "suggestion_id", id, "conversation", sg.ConversationKey, "agent", sg.SuggestedBy)
	}
	stored, err := e.store.Suggestion(ctx, id)
	if err != nil {
		return err
	}
	blocks, text := renderRelayNotice(rid, &stored)
	cctx, cancel := e.call(ctx)
	defer cancel()
	_, _, _, err = e.api.UpdateMessageContext(cctx, channel, ts,
		slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(blocks...),
	)
	return classify("update relay notice", err)
}

// sendFAQ runs a choice in the hand-off's "Send FAQ answer" menu: the
// entry's answer, as the live knowledge base has it now, goes to the
// customer as the agent's reply (the rules of a thread reply: an escalated
// conversation is claimed by the agent), and the customer's question is
// learned as an example of the entry. Once per hand-off and entry: a
// retried job, or a second choice of the same entry, sends nothing twice.
func (e *Escalator) sendFAQ(ctx context.Context, ic *slackapi.InteractionCallback, a *slackapi.BlockAction) error {
	channel, ts := actionThread(ic)
	user, id := ic.User.ID, a.SelectedOption.Value
	log := e.logger.With("action", a.ActionID, "user", user, "entry", id)
	c, err := e.store.ConversationByThread(ctx, channel, ts)
	if errors.Is(err, bot.ErrNotFound) {
		return e.ephemeral(ctx, channel, user, "", "This hand-off is out of date: use the latest one for this conversation.")
	} else if err != nil {
		return err
	}
	log = log.With("conversation", c.Key)
	if e.FAQ == nil || id == "" {
		log.Warn("send faq answer: no knowledge base or no entry chosen")
		return nil
	}
	if c.State != bot.StateEscalated && c.State != bot.StateAgent {
		return e.ephemeral(ctx, channel, user, "", "Not sent: this conversation is "+stateWords(c.State)+".")
	}
	entry, err := e.FAQ.FAQEntry(id)
	if errors.Is(err, bot.ErrNotFound) {
		return e.ephemeral(ctx, channel, user, "", "Not sent: the entry `"+code(id)+"` is no longer in the knowledge base.")
	} else if err != nil {
		return err
	}
	name, err := e.names.displayName(ctx, user, cmp.Or(ic.User.Name, ic.User.Username))
	if err != nil {
		return err
	}
	dedupe := "faq:" + c.Key + ":" + ts + ":" + entry.ID
	rid := replyID(dedupe)
	queued, err := e.store.QueueAgentReply(ctx, dedupe, bot.Reply{
		ID: rid, ConversationKey: c.Key, Kind: bot.ReplyAgent,
		Author: bot.AuthorAgent, AgentName: name, Text: entry.Answer, CreatedAt: e.Now().UTC(),
	})
	if err != nil {
		return err
	}
	if queued {
		log.Info("faq answer sent", "agent", name)
	}
	// After the reply, so that its transcript line bounds the question; a
	// retry after a failure here learns it then.
	sg, ok, err := e.FAQ.LearnExample(ctx, rid, entry.ID, name)
	if err != nil {
		return err
	}
	if ok {
		log.Info("example learned", "suggestion_id", sg.ID, "status", sg.Status)
	}
	return e.refresh(ctx, c.Key, channel, ts, handoffView{FAQSent: entry.ID})
}

// act runs one button click. Every step is idempotent, so a retried job
// (after a Slack 429, say) repeats it harmlessly: the store transition is a
// no-op the second time and the message update is the same.
func (e *Escalator) act(ctx context.Context, ic *slackapi.InteractionCallback, a *slackapi.BlockAction) error {
	channel, ts := actionThread(ic)
	user, key := ic.User.ID, a.Value
	log := e.logger.With("conversation", key, "action", a.ActionID, "user", user)
	c, err := e.store.Conversation(ctx, key)
	if errors.Is(err, bot.ErrNotFound) {
		log.Warn("button for an unknown conversation")
		return nil
	} else if err != nil {
		return err
	}
	if c.SlackChannel != channel || c.SlackThreadTS != ts {
		return e.ephemeral(ctx, channel, user, "", "This hand-off is out of date: use the latest one for this conversation.")
	}
	name, err := e.names.displayName(ctx, user, cmp.Or(ic.User.Name, ic.User.Username))
	if err != nil {
		return err
	}
	view := handoffView{}
	var notice string
	switch a.ActionID {
	case ActionClaim:
		_, err := e.store.ChangeState(ctx, bot.StateChange{Key: key, To: bot.StateAgent, Actor: name})
		var ce *bot.ClaimError
		switch {
		case err == nil:
			log.Info("claimed", "agent", name)
		case errors.As(err, &ce):
			notice = "Already claimed by @" + escape(ce.ClaimedBy) + "."
		case errors.Is(err, bot.ErrConflict):
			notice = "This conversation is already " + stateWords(c.State) + "."
		default:
			return err
		}
	case ActionResolve:
		if c.State == bot.StateBot {
			notice = "This conversation was handed back to the bot; there is nothing to resolve."
			break
		}
		var closing *bot.Reply
		if e.cfg.ClosingText != "" && c.State != bot.StateResolved {
			esc, err := e.store.LatestEscalation(ctx, key)
			if err != nil {
				return err
			}
			id := replyID("resolve:" + key + ":" + strconv.FormatInt(esc.ID, 10))
			closing = &bot.Reply{ID: id, ConversationKey: key, Kind: bot.ReplyAgent, Author: bot.AuthorAgent,
				AgentName: name, Text: e.cfg.ClosingText, CreatedAt: e.Now().UTC()}
		}
		_, err := e.store.ChangeState(ctx, bot.StateChange{Key: key, To: bot.StateResolved, Actor: name, Reason: reasonResolved, Closing: closing})
		if errors.Is(err, bot.ErrConflict) {
			notice = "This conversation cannot be resolved now."
		} else if err != nil {
			return err
		}
		if notice == "" && c.State != bot.StateResolved {
			log.Info("resolved", "agent", name)
		}
	case ActionHandBack:
		switch c.State {
		case bot.StateEscalated, bot.StateAgent:
			_, err := e.store.ChangeState(ctx, bot.StateChange{Key: key, To: bot.StateBot, Actor: name, Reason: reasonHandedBack})
			if errors.Is(err, bot.ErrConflict) {
				notice = "This conversation cannot be handed back now."
			} else if err != nil {
				return err
			}
			if notice == "" {
				log.Info("handed back", "agent", name)
			}
		case bot.StateBot: // a double click: already done
		default:
			notice = "This conversation is already " + stateWords(c.State) + "."
		}
	case ActionSendDraft:
		esc, err := e.store.LatestEscalation(ctx, key)
		if err != nil {
			return err
		}
		switch {
		case strings.TrimSpace(esc.Draft) == "":
			notice = "There is no draft to send."
		case c.State != bot.StateEscalated && c.State != bot.StateAgent:
			notice = "Not sent: this conversation is " + stateWords(c.State) + "."
		default:
			dedupe := "draft:" + key + ":" + ts
			queued, err := e.store.QueueAgentReply(ctx, dedupe, bot.Reply{
				ID: replyID(dedupe), ConversationKey: key, Kind: bot.ReplyAgent,
				Author: bot.AuthorAgent, AgentName: name, Text: esc.Draft, CreatedAt: e.Now().UTC(),
			})
			if err != nil {
				return err
			}
			if queued {
				log.Info("draft sent", "agent", name)
			}
			view.DraftSent = true
		}
	}
	if err := e.refresh(ctx, key, channel, ts, view); err != nil {
		return err
	}
	if notice != "" {
		return e.ephemeral(ctx, channel, user, "", notice)
	}
	return nil
}

// refresh re-renders the hand-off message from the store's current state;
// v carries what only the caller knows (a sent draft).
func (e *Escalator) refresh(ctx context.Context, key, channel, ts string, v handoffView) error {
	c, err := e.store.Conversation(ctx, key)
	if err != nil {
		return err
	}
	esc, err := e.store.LatestEscalation(ctx, key)
	if err != nil {
		return err
	}
	trs, err := e.store.Transitions(ctx, key)
	if err != nil {
		return err
	}
	v.State, v.By = c.State, ""
	if n := len(trs); n > 0 && trs[n-1].To == c.State && c.State != bot.StateEscalated {
		switch a := trs[n-1].Actor; a {
		case bot.ActorBot, bot.ActorCustomer, bot.ActorSystem: // not an agent's doing
		default:
			v.By = a // who claimed, resolved or handed back
		}
	}
	v.Hint = handoffHint(e.cfg)
	v.ConversationURL = e.conversationURL(key)
	v.FAQMenu = e.FAQ != nil
	blocks, text := renderHandoff(esc.Escalation, v)
	cctx, cancel := e.call(ctx)
	defer cancel()
	_, _, _, err = e.api.UpdateMessageContext(cctx, channel, ts,
		slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(blocks...),
	)
	return classify("update hand-off", err)
}

// ephemeral shows text to one user only (in the thread when threadTS is set).
func (e *Escalator) ephemeral(ctx context.Context, channel, user, threadTS, text string) error {
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false)}
	if threadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(threadTS))
	}
	cctx, cancel := e.call(ctx)
	defer cancel()
	_, err := e.api.PostEphemeralContext(cctx, channel, user, opts...)
	return classify("post ephemeral", err)
}

func stateWords(s bot.State) string {
	switch s {
	case bot.StateBot:
		return "back with the bot"
	case bot.StateEscalated:
		return "waiting for an agent"
	case bot.StateAgent:
		return "claimed"
	case bot.StateResolved:
		return "resolved"
	}
	return string(s)
}
