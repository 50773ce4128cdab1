package triggers_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Time
		wantErr string
	}{
		{name: "unix seconds", in: "1700000000", want: time.Unix(1700000000, 0)},
		{name: "zero", in: "0", want: time.Unix(0, 0)},
		{name: "unix milliseconds", in: "1700000000123", want: time.UnixMilli(1700000000123)},
		{name: "RFC 3339", in: "2021-03-25T05:09:27Z", want: time.Date(2021, 3, 25, 5, 9, 27, 0, time.UTC)},
		{name: "RFC 3339 with offset and fraction", in: "2021-03-25T07:09:27.5+02:00", want: time.Date(2021, 3, 25, 5, 9, 27, 5e8, time.UTC)},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "negative", in: "-1700000000", wantErr: "neither"},
		{name: "plus sign", in: "+1700000000", wantErr: "neither"},
		{name: "space", in: " 1700000000", wantErr: "neither"},
		{name: "fraction", in: "1700000000.5", wantErr: "neither"},
		{name: "date only", in: "2021-03-25", wantErr: "neither"},
		{name: "seconds past year 9999", in: "253402300800", wantErr: "out of range"},
		{name: "milliseconds past year 9999", in: "253402300800000", wantErr: "out of range"},
		{name: "over int64", in: "99999999999999999999", wantErr: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := triggers.ParseTimestamp(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTimestamp(%q)=%v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTimestamp(%q)=%v", tt.in, err)
			}
			if !got.Equal(tt.want) {
				t.Fatalf("ParseTimestamp(%q)=%v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseUnixSeconds(t *testing.T) {
	for _, in := range []string{"", "1700000000123", "2021-03-25T05:09:27Z", "-1", "1e9", "0x10"} {
		if _, err := triggers.ParseUnixSeconds(in); err == nil {
			t.Fatalf("ParseUnixSeconds(%q)=nil error, want an error", in)
		}
	}
	got, err := triggers.ParseUnixSeconds("1614265330")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(1614265330, 0); !got.Equal(want) {
		t.Fatalf("ParseUnixSeconds()=%v, want %v", got, want)
	}
}

func TestCheckTimestamp(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tol := triggers.DefaultTolerance
	tests := []struct {
		name    string
		ts      time.Time
		wantErr string
	}{
		{name: "now", ts: now},
		{name: "300 s old", ts: now.Add(-300 * time.Second)},
		{name: "300.001 s old", ts: now.Add(-300*time.Second - time.Millisecond), wantErr: "timestamp too old"},
		{name: "301 s old", ts: now.Add(-301 * time.Second), wantErr: "timestamp too old: 5m1s old, tolerance 5m0s"},
		{name: "300 s ahead", ts: now.Add(300 * time.Second)},
		{name: "301 s ahead", ts: now.Add(301 * time.Second), wantErr: "timestamp too new: 5m1s in the future"},
		{name: "epoch", ts: time.Unix(0, 0), wantErr: "timestamp too old"},
		{name: "year 9999", ts: time.Unix(253402300799, 0), wantErr: "timestamp too new"},
		{name: "zero time", ts: time.Time{}, wantErr: "timestamp too old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := triggers.CheckTimestamp(tt.ts, now, tol)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckTimestamp()=%v, want nil", err)
				}
				return
			}
			if !errors.Is(err, bot.ErrUnauthorized) {
				t.Fatalf("CheckTimestamp()=%v, want it to wrap bot.ErrUnauthorized", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckTimestamp()=%q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestReplayTolerance(t *testing.T) {
	tests := []struct {
		name    string
		in      time.Duration
		want    time.Duration
		wantErr bool
	}{
		{name: "default", in: 0, want: triggers.DefaultTolerance},
		{name: "configured", in: time.Minute, want: time.Minute},
		{name: "negative", in: -time.Second, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := triggers.Config{Tolerance: tt.in}
			got, err := c.ReplayTolerance()
			if got, want := err != nil, tt.wantErr; got != want {
				t.Fatalf("ReplayTolerance() error=%v, want error %v", err, want)
			}
			if err != nil {
				if got, want := err.Error(), "tolerance: must not be negative"; got != want {
					t.Fatalf("ReplayTolerance()=%q, want %q", got, want)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("ReplayTolerance()=%v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidHeaderName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"X-Hub-Signature-256", true},
		{"webhook-id", true},
		{"x_custom.token~1", true},
		{"", false},
		{"X Signature", false},
		{"X-Sig:", false},
		{"X-Sig\n", false},
		{"Zeichen-ä", false},
		{"(id)", false},
	}
	for _, tt := range tests {
		if got := triggers.ValidHeaderName(tt.in); got != tt.want {
			t.Fatalf("ValidHeaderName(%q)=%v, want %v", tt.in, got, tt.want)
		}
	}
}
