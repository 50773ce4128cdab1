package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
)

// TestSaveAsFAQApproveThenAsk: an agent's answer saved as a suggestion and
// approved with `supportbot faq suggestions approve` is answered by
// `supportbot ask` from the new entry.
func TestSaveAsFAQApproveThenAsk(t *testing.T) {
	rc := newReceiver(t)
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "127.0.0.1:0", rc.URL)
	// A private copy of the knowledge base, so approval can write to it.
	kb := filepath.Join(dir, "kb")
	if err := os.MkdirAll(kb, 0o750); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "faq", "kb", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(kb, "default.yaml"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg.FAQ.Path = kb
	t.Setenv("SUPPORTBOT_FAQ_PATH", kb)
	m := mustOpenMain(t, cfg)
	ctx := context.Background()

	const question = "Can I pay with bitcoin or another cryptocurrency?"
	const answer = "Not yet: we accept cards and bank transfers. Crypto payments are on our roadmap."
	post(t, m.Server.URL()+"/hooks/chat", "msg_q", nativeEvent("c-crypto", "I want to talk to a human: "+question), nil)
	rc.next(t) // the hand-off
	r := bot.Reply{ID: "rpl_agent_crypto", ConversationKey: "chat/c-crypto", Kind: bot.ReplyAgent,
		Author: bot.AuthorAgent, AgentName: "Grace", Text: answer}
	if queued, err := m.Store.QueueAgentReply(ctx, "slack:C1:1.1", r); err != nil || !queued {
		t.Fatalf("queue agent reply = %v, %v", queued, err)
	}
	src2, err := m.Store.SuggestionSource(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	src2.Question, src2.SuggestedBy = question, "Grace"
	id, created, err := m.Store.SuggestFAQ(ctx, src2)
	if err != nil || !created {
		t.Fatalf("suggest = %d, %v, %v", id, created, err)
	}

	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"faq", "suggestions", "list", "--config", cfgPath}, nil, &out, &errOut); code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "bitcoin") {
		t.Fatalf("list output:\n%s", out.String())
	}
	out.Reset()
	if code := run(ctx, []string{"faq", "suggestions", "approve", strconv.FormatInt(id, 10), "--id", "crypto-payments", "--by", "ops", "--config", cfgPath}, nil, &out, &errOut); code != 0 {
		t.Fatalf("approve: exit %d: %s", code, errOut.String())
	}
	if code := run(ctx, []string{"faq", "suggestions", "approve", strconv.FormatInt(id, 10), "--config", cfgPath}, nil, io.Discard, io.Discard); code == 0 {
		t.Fatal("approving twice succeeded")
	}
	out.Reset()
	if code := run(ctx, []string{"ask", "--json", "--config", cfgPath, question}, nil, &out, &errOut); code != 0 {
		t.Fatalf("ask: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), `"faq_ids":["crypto-payments"]`) || !strings.Contains(out.String(), `"action":"answer"`) {
		t.Fatalf("ask output: %s", out.String())
	}
}
