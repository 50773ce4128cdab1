package bot_test

import (
	"reflect"
	"testing"

	"github.com/supportbot/supportbot/bot"
)

// The stored form of every payload is pinned: jobs queued by one release
// are run by the next, so a renamed JSON key would strand them.
func TestPayloadRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		p    bot.JobPayload
		kind string
		json string
	}{
		{bot.ProcessPayload{InboxID: 7, BurstMS: 1500}, bot.JobProcess, `{"inbox_id":7,"burst_ms":1500}`},
		{bot.ProcessPayload{InboxID: 7}, bot.JobProcess, `{"inbox_id":7}`},
		{bot.DeliverPayload{ReplyID: "rpl_1"}, bot.JobDeliver, `{"reply_id":"rpl_1"}`},
		{bot.EscalatePayload{EscalationID: 3}, bot.JobEscalate, `{"escalation_id":3}`},
		{bot.ReannouncePayload{EscalationID: 3}, bot.JobReannounce, `{"escalation_id":3}`},
		{bot.MirrorPayload{MessageID: 9}, bot.JobMirror, `{"message_id":9}`},
		{bot.RelayNoticePayload{ReplyID: "rpl_2", Channel: "C1", ThreadTS: "1.2"}, bot.JobSlackRelayNotice,
			`{"reply_id":"rpl_2","channel":"C1","thread_ts":"1.2"}`},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			if got := tc.p.JobKind(); got != tc.kind {
				t.Fatalf("JobKind = %q, want %q", got, tc.kind)
			}
			b := bot.EncodePayload(tc.p)
			if string(b) != tc.json {
				t.Fatalf("encoded %s, want %s", b, tc.json)
			}
			j := &bot.Job{ID: 1, Kind: tc.kind, Payload: b}
			var got bot.JobPayload
			var err error
			switch tc.p.(type) {
			case bot.ProcessPayload:
				got, err = bot.DecodePayload[bot.ProcessPayload](j)
			case bot.DeliverPayload:
				got, err = bot.DecodePayload[bot.DeliverPayload](j)
			case bot.EscalatePayload:
				got, err = bot.DecodePayload[bot.EscalatePayload](j)
			case bot.ReannouncePayload:
				got, err = bot.DecodePayload[bot.ReannouncePayload](j)
			case bot.MirrorPayload:
				got, err = bot.DecodePayload[bot.MirrorPayload](j)
			case bot.RelayNoticePayload:
				got, err = bot.DecodePayload[bot.RelayNoticePayload](j)
			default:
				t.Fatalf("no decode case for %T", tc.p)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.p) {
				t.Fatalf("decoded %+v, want %+v", got, tc.p)
			}
		})
	}
}

func TestDecodePayloadErrors(t *testing.T) {
	_, err := bot.DecodePayload[bot.DeliverPayload](&bot.Job{ID: 1, Kind: bot.JobMirror, Payload: []byte(`{"message_id":1}`)})
	if !bot.IsPermanent(err) {
		t.Fatalf("another kind's job: err = %v, want a permanent error", err)
	}
	_, err = bot.DecodePayload[bot.DeliverPayload](&bot.Job{ID: 1, Kind: bot.JobDeliver, Payload: []byte(`{"reply_id":`)})
	if !bot.IsPermanent(err) {
		t.Fatalf("truncated payload: err = %v, want a permanent error", err)
	}
}
