package triggers_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

// fakeTrigger is a Trigger whose factory records the config it was built
// from.
type fakeTrigger struct{ cfg triggers.Config }

func (f *fakeTrigger) Name() string                           { return f.cfg.Name }
func (f *fakeTrigger) Kind() string                           { return "fake" }
func (f *fakeTrigger) Verify(r *http.Request, b []byte) error { return nil }
func (f *fakeTrigger) Parse(r *http.Request, b []byte) (bot.Event, error) {
	return triggers.ParseNative(f.cfg.Name, "", b)
}

func fakeKinds() triggers.Kinds {
	return triggers.Kinds{
		"fake": func(cfg triggers.Config) (triggers.Trigger, error) {
			if cfg.Secret == "" {
				return nil, errors.New("secret: required")
			}
			return &fakeTrigger{cfg: cfg}, nil
		},
		"other": func(cfg triggers.Config) (triggers.Trigger, error) { return &fakeTrigger{cfg: cfg}, nil },
	}
}

func TestKindsBuild(t *testing.T) {
	tests := []struct {
		name    string
		cfg     triggers.Config
		wantErr string
	}{
		{name: "valid", cfg: triggers.Config{Name: "chat-1_a", Kind: "fake", Secret: "s"}},
		{name: "missing name", cfg: triggers.Config{Kind: "fake", Secret: "s"}, wantErr: "name: required"},
		{name: "name with slash", cfg: triggers.Config{Name: "a/b", Kind: "fake", Secret: "s"}, wantErr: `name: "a/b" may hold only letters, digits, '-' and '_'`},
		{name: "name too long", cfg: triggers.Config{Name: strings.Repeat("a", 129), Kind: "fake", Secret: "s"}, wantErr: "name: "},
		{name: "unknown kind", cfg: triggers.Config{Name: "chat", Kind: "zendesk"}, wantErr: `kind: "zendesk" is not one of [fake other]`},
		{name: "guard error", cfg: triggers.Config{Name: "chat", Kind: "fake", Secret: "s", AllowIPs: []string{"nope"}}, wantErr: "allow_ips[0]:"},
		{name: "factory error", cfg: triggers.Config{Name: "chat", Kind: "fake"}, wantErr: "secret: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := fakeKinds().Build(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("Build()=%v, want an error starting with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build()=%v", err)
			}
			if got, want := e.Name(), tt.cfg.Name; got != want {
				t.Fatalf("Name()=%q, want %q", got, want)
			}
			if diff := cmp.Diff(tt.cfg, e.Config); diff != "" {
				t.Fatalf("Entry.Config mismatch (-want +got):\n%s", diff)
			}
			if e.Guard == nil {
				t.Fatal("Entry.Guard is nil")
			}
		})
	}
}

func TestKindsNames(t *testing.T) {
	if diff := cmp.Diff([]string{"fake", "other"}, fakeKinds().Names()); diff != "" {
		t.Fatalf("Names() mismatch (-want +got):\n%s", diff)
	}
}

func TestSet(t *testing.T) {
	s := triggers.NewSet()
	ks := fakeKinds()
	for _, n := range []string{"b", "a", "c"} {
		e, err := ks.Build(triggers.Config{Name: n, Kind: "other"})
		if err != nil {
			t.Fatal(err)
		}
		s.Put(e)
	}
	if _, ok := s.Get("a"); !ok {
		t.Fatal(`Get("a") not found`)
	}
	s.Delete("a")
	if _, ok := s.Get("a"); ok {
		t.Fatal(`Get("a") found after Delete`)
	}
	var names []string
	for _, e := range s.All() {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"b", "c"}, names); diff != "" {
		t.Fatalf("All() mismatch (-want +got):\n%s", diff)
	}
}

func TestConfigAllSecrets(t *testing.T) {
	c := triggers.Config{Secret: "a", Secrets: []string{"", "b", "c"}}
	if diff := cmp.Diff([]string{"a", "b", "c"}, c.AllSecrets()); diff != "" {
		t.Fatalf("AllSecrets() mismatch (-want +got):\n%s", diff)
	}
	c = triggers.Config{}
	if got := c.AllSecrets(); len(got) != 0 {
		t.Fatalf("AllSecrets()=%q, want none", got)
	}
}

func TestConfigBurstWindow(t *testing.T) {
	zero := time.Duration(0)
	c := triggers.Config{}
	if got, want := c.BurstWindow(), triggers.DefaultBurst; got != want {
		t.Fatalf("BurstWindow()=%v, want %v", got, want)
	}
	c.Burst = &zero
	if got, want := c.BurstWindow(), time.Duration(0); got != want {
		t.Fatalf("BurstWindow()=%v, want %v", got, want)
	}
}

func TestBudgetDefaults(t *testing.T) {
	for _, tc := range []struct {
		cfg       triggers.Config
		max       int
		window    time.Duration
		hasBudget bool
	}{
		{triggers.Config{Kind: "web"}, triggers.DefaultWebBudgetMax, triggers.DefaultBudgetWindow, true},
		{triggers.Config{Kind: "web", EscalationBudget: triggers.BudgetConfig{Max: -1}}, 0, 0, false},
		{triggers.Config{Kind: "standard"}, 0, 0, false},
		{triggers.Config{Kind: "zendesk", EscalationBudget: triggers.BudgetConfig{Max: 30}}, 30, time.Minute, true},
		{triggers.Config{Kind: "web", EscalationBudget: triggers.BudgetConfig{Max: 3, Window: 10 * time.Second}}, 3, 10 * time.Second, true},
	} {
		max, window, ok := tc.cfg.Budget()
		if max != tc.max || window != tc.window || ok != tc.hasBudget {
			t.Errorf("%+v.Budget() = %d, %s, %v; want %d, %s, %v", tc.cfg, max, window, ok, tc.max, tc.window, tc.hasBudget)
		}
	}
}
