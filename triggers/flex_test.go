package triggers_test

import (
	"encoding/json"
	"testing"

	"github.com/supportbot/supportbot/triggers"
)

func TestFlexString(t *testing.T) {
	for in, want := range map[string]string{`"35436"`: "35436", `35436`: "35436", `" 7 "`: "7", `null`: "", `-1`: "-1"} {
		var f triggers.FlexString
		if err := json.Unmarshal([]byte(in), &f); err != nil || f.String() != want {
			t.Errorf("%s: %q, %v; want %q", in, f, err, want)
		}
	}
	for _, in := range []string{`{}`, `[]`, `true`} {
		var f triggers.FlexString
		if err := json.Unmarshal([]byte(in), &f); err == nil {
			t.Errorf("%s accepted as an id", in)
		}
	}
}
