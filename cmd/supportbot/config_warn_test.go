package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/triggers"
)

func TestPublicURLFor(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://localhost:8080",
		":9090":          "http://localhost:9090",
		"0.0.0.0:9090":   "http://localhost:9090",
		"127.0.0.1:7000": "http://127.0.0.1:7000",
		"[::]:7001":      "http://localhost:7001",
		"bot.local:7002": "http://bot.local:7002",
	} {
		if got := publicURLFor(addr); got != want {
			t.Errorf("publicURLFor(%q) = %q, want %q", addr, got, want)
		}
	}
}

// server.addr alone moves the links too: public_url follows it unless set.
func TestPublicURLFollowsAddr(t *testing.T) {
	t.Setenv("SUPPORTBOT_SERVER_ADDR", ":9191")
	cfg, err := LoadConfig("../../config.yaml", true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Server.PublicURL, "http://localhost:9191"; got != want {
		t.Fatalf("public_url = %q, want %q", got, want)
	}
	t.Setenv("SUPPORTBOT_SERVER_PUBLIC_URL", "https://bot.example.com")
	if cfg, err = LoadConfig("../../config.yaml", true); err != nil || cfg.Server.PublicURL != "https://bot.example.com" {
		t.Fatalf("explicit public_url = %q, %v", cfg.Server.PublicURL, err)
	}
}

func TestConfigWarnings(t *testing.T) {
	cfg := &Config{Triggers: []triggers.Config{{Name: "help-desk"}}}
	got := configWarnings(cfg, []string{
		"PATH=/bin",
		"SUPPORTBOT_SERVER_ADDR=:1",              // a key
		"SUPPORTBOT_TRIGGERS_HELP_DESK_SECRET=x", // a trigger credential
		"SUPPORTBOT_SERVR_ADDR=:1",               // a typo
		"SUPPORTBOT_TRIGGERS_HELPDESK_SECRET=x",  // no such trigger
		"SUPPORTBOT_TRIGGERS_HELP_DESK_PASSWD=x", // no such key
	})
	text := strings.Join(got, "\n")
	for _, want := range []string{"SUPPORTBOT_SERVR_ADDR", "SUPPORTBOT_TRIGGERS_HELPDESK_SECRET", "SUPPORTBOT_TRIGGERS_HELP_DESK_PASSWD"} {
		if !strings.Contains(text, want) {
			t.Errorf("warnings do not name %s:\n%s", want, text)
		}
	}
	for _, known := range []string{"SUPPORTBOT_SERVER_ADDR ", "SUPPORTBOT_TRIGGERS_HELP_DESK_SECRET "} {
		if strings.Contains(text, known) {
			t.Errorf("a known variable is warned about (%s):\n%s", known, text)
		}
	}
	if len(got) != 3 {
		t.Fatalf("warnings = %q, want 3", got)
	}
	if w := configWarnings(&Config{}, nil); len(w) != 1 || !strings.Contains(w[0], "no trigger") {
		t.Fatalf("no triggers: warnings = %q", w)
	}
}

func TestBuildVersion(t *testing.T) {
	info := func(main string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: main}, Settings: settings}, true
		}
	}
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "0123456789abcdef0123"}
	for _, tc := range []struct {
		name, v string
		read    func() (*debug.BuildInfo, bool)
		want    string
	}{
		{"ldflags win", "1.2.3", info("v9.9.9"), "1.2.3"},
		{"module version", "dev", info("v1.4.0"), "v1.4.0"},
		{"vcs revision", "dev", info("(devel)", rev), "dev-0123456789ab"},
		{"dirty tree", "dev", info("(devel)", rev, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "dev-0123456789ab+dirty"},
		{"nothing stamped", "dev", info("(devel)"), "dev"},
		{"no build info", "dev", func() (*debug.BuildInfo, bool) { return nil, false }, "dev"},
	} {
		if got := buildVersion(tc.v, tc.read); got != tc.want {
			t.Errorf("%s: buildVersion = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A bad duration is reported whole, with the value and the form wanted.
func TestConfigBadDurationMessage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("server:\n  shutdown_timeout: \"10 seconds\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(path, true)
	if err == nil || !strings.Contains(err.Error(), "server.shutdown_timeout") || !strings.Contains(err.Error(), `"10 seconds"`) || !strings.Contains(err.Error(), "30s") {
		t.Fatalf("LoadConfig = %v, want the key, the value and an example", err)
	}
}

// A trigger name that cannot be a URL segment is a config error before
// anything is written: no secret is generated for it.
func TestConfigBadTriggerNameWritesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	cfgText := "storage:\n  path: " + filepath.Join(dir, "data", "x.db") + "\ntriggers:\n  - name: \"bad name!\"\n    kind: standard\n    reply: {kind: none}\n"
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	if code := run(context.Background(), []string{"serve", "--config", path}, nil, io.Discard, &errOut); code != 2 {
		t.Fatalf("serve exit %d, want 2 (%s)", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "triggers[0] (bad name!).name") {
		t.Fatalf("error %q does not name the key", errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Fatalf("data directory written for a rejected config (stat: %v)", err)
	}
}
