package kbimport_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot/deliver"
	"github.com/supportbot/supportbot/bot/kbimport"
)

// fake is a vendor's API: it checks the credentials with authorized
// (answering 401 with the vendor's error body), records each request as
// "METHOD path?query", answers the scripted failures of a path first, and
// then calls serve.
type fake struct {
	*httptest.Server
	mu         sync.Mutex
	requests   []string
	failures   map[string][]failure
	authorized func(*http.Request) bool
	deny       string // the 401 body
	serve      func(w http.ResponseWriter, r *http.Request)
}

// failure is one scripted answer: a status, with headers and a body.
type failure struct {
	status int
	header map[string]string
	body   string
}

func newFake(t *testing.T, authorized func(*http.Request) bool, deny string, serve func(w http.ResponseWriter, r *http.Request)) *fake {
	t.Helper()
	f := &fake{failures: map[string][]failure{}, authorized: authorized, deny: deny, serve: serve}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			t.Errorf("%s %s: the importer only reads", r.Method, r.URL)
		}
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
		var fail *failure
		for _, key := range []string{r.URL.RequestURI(), r.URL.Path} {
			if q := f.failures[key]; len(q) > 0 {
				fail = &q[0]
				f.failures[key] = q[1:]
				break
			}
		}
		authorized, deny, serve := f.authorized, f.deny, f.serve
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if !authorized(r) {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, deny)
			return
		}
		if fail != nil {
			for k, v := range fail.header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(fail.status)
			_, _ = io.WriteString(w, fail.body)
			return
		}
		serve(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// fail scripts the next answers to a path, or to a path and query.
func (f *fake) fail(path string, fs ...failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[path] = append(f.failures[path], fs...)
}

// take returns the requests so far and forgets them.
func (f *fake) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.requests
	f.requests = nil
	return r
}

func (f *fake) setAuthorized(fn func(*http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authorized = fn
}

// testClient is the guarded outbound client with private networks allowed,
// as outbound.allow_private_networks sets it: httptest listens on loopback.
func testClient() *http.Client {
	return deliver.NewHTTPClient(deliver.ClientOptions{AllowPrivateNetworks: true})
}

// sleeps records the waits of a Client instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

func writeJSON(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(v)
}

// files returns the article files in dir (not the state file), sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mustRun imports src into dir.
func mustRun(t *testing.T, dir string, src kbimport.Source) kbimport.Result {
	t.Helper()
	im := &kbimport.Importer{Dir: dir}
	res, err := im.Run(context.Background(), src)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return res
}

// checkState checks that the state file holds cursor.
func checkState(t *testing.T, dir, vendor, cursor string) {
	t.Helper()
	var st struct {
		Cursor string            `json:"cursor"`
		Files  map[string]string `json:"files"`
	}
	if err := json.Unmarshal([]byte(readFile(t, kbimport.StatePath(dir, vendor))), &st); err != nil {
		t.Fatal(err)
	}
	if st.Cursor != cursor {
		t.Fatalf("state cursor %q, want %q", st.Cursor, cursor)
	}
}

// checkAuthError runs src with refused credentials: the import fails with
// an error naming the vendor and the credentials, and changes nothing.
func checkAuthError(t *testing.T, dir string, src kbimport.Source, vendor, check string) {
	t.Helper()
	before := files(t, dir)
	stateBefore, _ := os.ReadFile(kbimport.StatePath(dir, vendor))
	im := &kbimport.Importer{Dir: dir}
	_, err := im.Run(context.Background(), src)
	if !errors.Is(err, kbimport.ErrAuth) {
		t.Fatalf("import with a wrong credential: %v, want ErrAuth", err)
	}
	if msg := err.Error(); !strings.Contains(msg, vendor+" answered 401") || !strings.Contains(msg, check) {
		t.Fatalf("error %q should name %s's 401 and %q", msg, vendor, check)
	}
	if got := files(t, dir); !slices.Equal(got, before) {
		t.Fatalf("files after a refused import: %v, want %v", got, before)
	}
	stateAfter, _ := os.ReadFile(kbimport.StatePath(dir, vendor))
	if string(stateAfter) != string(stateBefore) {
		t.Fatal("a refused import changed the state file")
	}
}

// checkPartialFailure runs src while one request fails for good: nothing
// is written and the state file is unchanged.
func checkPartialFailure(t *testing.T, dir string, src kbimport.Source, vendor string) {
	t.Helper()
	before := map[string]string{}
	for _, n := range files(t, dir) {
		before[n] = readFile(t, filepath.Join(dir, n))
	}
	stateBefore, _ := os.ReadFile(kbimport.StatePath(dir, vendor))
	im := &kbimport.Importer{Dir: dir}
	if _, err := im.Run(context.Background(), src); err == nil {
		t.Fatal("import with a failing page succeeded")
	}
	after := files(t, dir)
	if len(after) != len(before) {
		t.Fatalf("files after a failed import: %v", after)
	}
	for _, n := range after {
		if readFile(t, filepath.Join(dir, n)) != before[n] {
			t.Fatalf("%s changed by a failed import", n)
		}
	}
	stateAfter, _ := os.ReadFile(kbimport.StatePath(dir, vendor))
	if string(stateAfter) != string(stateBefore) {
		t.Fatal("a failed import changed the state file")
	}
}
