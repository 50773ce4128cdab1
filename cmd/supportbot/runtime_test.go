package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRuntimeTriggers: create → post → reply; rotate → both secrets work
// until the grace ends; delete → 404. Triggers survive a restart.
func TestRuntimeTriggers(t *testing.T) {
	configured := newReceiver(t)
	cfg := testConfig(t, configured.URL)
	cfg.Server.AdminToken = "admin-s3cret"
	m := mustOpenMain(t, cfg)
	api := m.Server.URL() + "/admin/api/triggers"
	tok := cfg.Server.AdminToken
	rc := newReceiver(t) // verifies with the generated reply secret once it is known

	if s, _ := adminDo(t, "POST", api, "", `{}`); s != http.StatusUnauthorized {
		t.Fatalf("without token = %d", s)
	}
	if s, _ := adminDo(t, "POST", api, tok, `{"reply":{"kind":"carrier-pigeon"}}`); s != http.StatusBadRequest {
		t.Fatalf("bad reply kind = %d", s)
	}
	s, created := adminDo(t, "POST", api, tok, `{"reply":{"kind":"webhook","url":"`+rc.URL+`"}}`)
	if s != http.StatusCreated {
		t.Fatalf("create = %d %v", s, created)
	}
	name, secret := created["name"].(string), created["secret"].(string)
	rc.verifyWith(t, created["reply_secret"].(string))
	if !strings.HasPrefix(name, "rt_") || len(name) < 30 || !strings.HasSuffix(created["url"].(string), "/hooks/"+name) {
		t.Fatalf("created = %v", created)
	}
	hook := m.Server.URL() + "/hooks/" + name
	sendWith := func(sec, id, conv string) int {
		return postSigned(t, hook, sec, id, nativeEvent(conv, "How do I reset my password?"))
	}
	if s := sendWith(secret, "r1", "rt-1"); s != http.StatusAccepted {
		t.Fatalf("post to run-time trigger = %d", s)
	}
	// Its replies are signed with the generated reply secret.
	if ev := rc.next(t); ev.Conversation.ID != "rt-1" || ev.Message.Author != "bot" {
		t.Fatalf("reply = %+v", ev)
	}
	s, rotated := adminDo(t, "POST", api+"/"+name+"/rotate", tok, `{"grace":"1s"}`)
	if s != http.StatusOK {
		t.Fatalf("rotate = %d %v", s, rotated)
	}
	newSecret := rotated["secret"].(string)
	if s := sendWith(secret, "r2", "rt-2"); s != http.StatusAccepted {
		t.Fatalf("old secret within grace = %d", s)
	}
	if s := sendWith(newSecret, "r3", "rt-3"); s != http.StatusAccepted {
		t.Fatalf("new secret = %d", s)
	}
	deadline := time.Now().Add(5 * time.Second)
	for sendWith(secret, "r4-"+strconv.FormatInt(time.Now().UnixNano(), 10), "rt-4") != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("old secret still accepted after the grace period")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s := sendWith(newSecret, "r5", "rt-5"); s != http.StatusAccepted {
		t.Fatalf("new secret after grace = %d", s)
	}
	_, listed := adminDo(t, "GET", api, tok, "")
	b, _ := json.Marshal(listed)
	if !strings.Contains(string(b), name) || strings.Contains(string(b), newSecret) || strings.Contains(string(b), "whsec_") {
		t.Fatalf("list = %s (must name the trigger and hold no secret)", b)
	}
	// A restart installs the stored trigger again.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = mustOpenMain(t, cfg)
	api, hook = m.Server.URL()+"/admin/api/triggers", m.Server.URL()+"/hooks/"+name
	if s := sendWith(newSecret, "r7", "rt-7"); s != http.StatusAccepted {
		t.Fatalf("post after restart = %d", s)
	}
	if s, _ := adminDo(t, "DELETE", api+"/"+name, tok, ""); s != http.StatusNoContent {
		t.Fatalf("delete = %d", s)
	}
	if s := sendWith(newSecret, "r6", "rt-6"); s != http.StatusNotFound {
		t.Fatalf("post after delete = %d, want 404", s)
	}
	if s, _ := adminDo(t, "DELETE", api+"/"+name, tok, ""); s != http.StatusNotFound {
		t.Fatalf("second delete = %d, want 404", s)
	}
}

// firedTimer is a grace timer that has already fired: Stop reports false,
// as time.Timer's does when its function is running.
// Each is distinct (the runtime tells timers apart by identity).
type firedTimer struct{ n int }

func (*firedTimer) Stop() bool { return false }

// A grace timer whose function runs late (it fired while a newer rotation or
// a delete was under way) changes nothing: it neither cuts the newer
// rotation's grace short nor brings a deleted trigger back.
func TestRuntimeTriggerLateGraceTimer(t *testing.T) {
	cfg := testConfig(t, newReceiver(t).URL)
	cfg.Server.AdminToken = "admin-s3cret"
	m := mustOpenMain(t, cfg)
	var fired []func()
	m.runtime.AfterFunc = func(_ time.Duration, f func()) stopper {
		fired = append(fired, f)
		return &firedTimer{n: len(fired)}
	}
	api, tok := m.Server.URL()+"/admin/api/triggers", cfg.Server.AdminToken
	s, created := adminDo(t, "POST", api, tok, `{"reply":{"kind":"none"}}`)
	if s != http.StatusCreated {
		t.Fatalf("create = %d %v", s, created)
	}
	name := created["name"].(string)
	hook := m.Server.URL() + "/hooks/" + name
	n := 0
	send := func(secret string) int {
		n++
		id := "late-" + strconv.Itoa(n)
		return postSigned(t, hook, secret, id, nativeEvent(id, "How do I reset my password?"))
	}
	_, r1 := adminDo(t, "POST", api+"/"+name+"/rotate", tok, `{"grace":"1h"}`)
	_, r2 := adminDo(t, "POST", api+"/"+name+"/rotate", tok, `{"grace":"1h"}`)
	first, second := r1["secret"].(string), r2["secret"].(string)
	if len(fired) != 2 {
		t.Fatalf("grace timers = %d, want 2", len(fired))
	}
	fired[0]() // the first rotation's timer, late
	if got := send(second); got != http.StatusAccepted {
		t.Fatalf("newest secret after a stale timer = %d, want 202", got)
	}
	if got := send(first); got != http.StatusAccepted {
		t.Fatalf("previous secret within the newest grace = %d, want 202", got)
	}
	fired[1]() // the newest grace ends
	if got := send(first); got != http.StatusUnauthorized {
		t.Fatalf("previous secret after its grace = %d, want 401", got)
	}
	if s, _ := adminDo(t, "DELETE", api+"/"+name, tok, ""); s != http.StatusNoContent {
		t.Fatalf("delete = %d", s)
	}
	fired[1]() // a timer racing the delete
	if got := send(second); got != http.StatusNotFound {
		t.Fatalf("post after delete and a late timer = %d, want 404", got)
	}
}
