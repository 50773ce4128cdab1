package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SessionCookie is the name of the session cookie, scoped to /admin.
const SessionCookie = "supportbot_admin"

// DefaultSessionTTL is how long a login lasts unless Dashboard.SessionTTL
// says otherwise.
const DefaultSessionTTL = 12 * time.Hour

const (
	loginCSRFCookie = "supportbot_login_csrf"
	csrfField       = "csrf"
	cookiePath      = "/admin"
	// maxSessions bounds the memory sessions take; past it the session
	// closest to expiry is dropped.
	maxSessions    = 10000
	sessionIDBytes = 32
	csrfTokenBytes = 32
)

// session is one signed-in browser.
type session struct {
	csrf    string
	expires time.Time
	// name is the operator's display name (guarded by sessions.mu): the
	// agent name on their replies and the actor of their changes.
	name string
}

// sessions holds the signed-in browsers in memory. A cookie names a session
// by id; the id, its expiry and an HMAC under a per-process key make the
// cookie's value, so a forged or altered cookie is refused before the map
// is consulted, and logging out deletes the entry so the cookie stops
// working even before it expires.
type sessions struct {
	key []byte
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions() *sessions {
	return &sessions{key: randomBytes(32), m: map[string]*session{}}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return b
}

func randomToken(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

func (s *sessions) sign(msg string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// create starts a session and returns the cookie value.
func (s *sessions) create(now time.Time, ttl time.Duration) (value string, sess *session) {
	id := randomToken(sessionIDBytes)
	sess = &session{csrf: randomToken(csrfTokenBytes), expires: now.Add(ttl)}
	s.mu.Lock()
	for k, v := range s.m { // expired sessions go first; the map stays bounded
		if !now.Before(v.expires) {
			delete(s.m, k)
		}
	}
	if len(s.m) >= maxSessions {
		var oldest string
		for k, v := range s.m {
			if oldest == "" || v.expires.Before(s.m[oldest].expires) {
				oldest = k
			}
		}
		delete(s.m, oldest)
	}
	s.m[id] = sess
	s.mu.Unlock()
	payload := id + "." + strconv.FormatInt(sess.expires.Unix(), 10)
	return payload + "." + s.sign(payload), sess
}

// parse checks a cookie value's signature and expiry and returns its
// session id.
func (s *sessions) parse(value string, now time.Time) (string, bool) {
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return "", false
	}
	payload, mac := value[:i], value[i+1:]
	if !hmac.Equal([]byte(mac), []byte(s.sign(payload))) {
		return "", false
	}
	id, exp, ok := strings.Cut(payload, ".")
	if !ok {
		return "", false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !now.Before(time.Unix(unix, 0)) {
		return "", false
	}
	return id, true
}

// lookup returns the live session a cookie value names.
func (s *sessions) lookup(value string, now time.Time) (string, *session, bool) {
	id, ok := s.parse(value, now)
	if !ok {
		return "", nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[id]
	if !ok || !now.Before(sess.expires) {
		delete(s.m, id)
		return "", nil, false
	}
	return id, sess, true
}

// name returns the display name of a session.
func (s *sessions) name(sess *session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sess.name
}

// setName changes the display name of a session.
func (s *sessions) setName(sess *session, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.name = name
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// tokenEqual compares a submitted token with the expected one in constant
// time; hashing first makes the time independent of the lengths too.
func tokenEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1 && want != ""
}

// secure reports whether cookies must be marked Secure: the request came
// over TLS, or the public URL is https (TLS ends at a proxy in front).
func (d *Dashboard) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(strings.ToLower(d.PublicURL), "https://")
}

func (d *Dashboard) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: cookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: d.secure(r), SameSite: http.SameSiteStrictMode,
	})
}
