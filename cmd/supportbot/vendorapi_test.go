package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Shared scaffolding of the helpdesk end-to-end tests: each vendor's fake
// API records apiCalls, and the service runs with the test receiver's
// configuration plus one vendor trigger.

// apiCall is one request a fake helpdesk API received.
type apiCall struct {
	Method, Path string
	Body         map[string]any
}

func (c apiCall) String() string { return fmt.Sprintf("%s %s %v", c.Method, c.Path, c.Body) }

// nextAPICall returns the next call the fake API (named api in failures)
// received, failing the test after 15 s without one.
func nextAPICall(t *testing.T, ch chan apiCall, api string) apiCall {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(15 * time.Second):
		t.Fatalf("no call to the %s API", api)
	}
	return apiCall{}
}

// openWithTrigger opens the service on the test configuration with trigger
// (a YAML list item under triggers) added.
func openWithTrigger(t *testing.T, trigger string) *Main {
	t.Helper()
	rc := newReceiver(t)
	cfgPath := writeConfig(t, t.TempDir(), "127.0.0.1:0", rc.URL)
	appendFile(t, cfgPath, trigger)
	cfg, err := LoadConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	return mustOpenMain(t, cfg)
}

// fixture reads a vendor's checked-in payload from triggers/VENDOR/testdata.
func fixture(t *testing.T, vendor, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "triggers", vendor, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postHook posts body as JSON to url with header added and returns the
// status and the decoded JSON answer.
func postHook(t *testing.T, url string, body []byte, header http.Header) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
