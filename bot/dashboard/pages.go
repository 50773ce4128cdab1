package dashboard

import (
	"cmp"
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/supportbot/supportbot/bot"
)

// Actor is who the transitions made from the dashboard are stored as.
const Actor = "operator"

// flashes are the messages a redirect may ask a page to show, by code, so
// that a URL cannot put text of its own on the page.
var flashes = map[string]string{
	"resolved":  "Conversation resolved.",
	"agent":     "Conversation claimed: it is yours to answer.",
	"replied":   "Reply queued: the customer gets it through the conversation's channel.",
	"bot":       "Conversation handed back to the bot.",
	"escalated": "Conversation returned to the agents' queue.",
	"replayed":  "Job queued again.",
	"faqsent":   "FAQ answer queued for the customer; their question is suggested as an example of the entry.",
}

var flashErrors = map[string]string{
	"gone":     "That dead letter is no longer in the list (already replayed?).",
	"conflict": "That change is not possible in the conversation's current state.",
	"claimed":  "Another agent has claimed this conversation.",
	"notyours": "Not sent: the bot owns this conversation or it is resolved. Return it to the agents' queue and claim it first.",
	"reused":   "Not sent: that form was already used for a different reply. Reload the page and try again.",
	"noentry":  "Not sent: that entry is no longer in the knowledge base.",
}

func flash(r *http.Request) (ok, failed string) {
	q := r.URL.Query()
	return flashes[q.Get("ok")], flashErrors[q.Get("err")]
}

// --- login ---

type loginData struct {
	Next       string
	LoginToken string
	Name       string
}

func (d *Dashboard) loginForm(w http.ResponseWriter, r *http.Request) {
	if a, _ := d.authenticate(r); a.session != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	d.renderLogin(w, r, http.StatusOK, "")
}

// renderLogin shows the form with a fresh login CSRF token, kept in a
// cookie of its own since there is no session yet (double submit).
func (d *Dashboard) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := randomToken(csrfTokenBytes)
	d.setCookie(w, r, loginCSRFCookie, tok, 3600)
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostForm.Get("next")
	}
	d.render(w, r, status, "login", auth{}, page{
		Title: "Sign in", Error: msg, Data: loginData{Next: safeNext(next), LoginToken: tok, Name: r.PostForm.Get("name")},
	})
}

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if ok, wait := d.logins.Allow(r); !ok {
		d.Logger.Warn("dashboard login rate limited", "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		http.Error(w, "too many sign-in attempts; try again later", http.StatusTooManyRequests)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || !tokenEqual(r.PostForm.Get(csrfField), c.Value) {
		http.Error(w, "missing or wrong CSRF token; reload the login page and try again", http.StatusForbidden)
		return
	}
	if !tokenEqual(r.PostForm.Get("token"), d.Token) {
		d.Logger.Warn("dashboard login refused", "remote", r.RemoteAddr)
		d.renderLogin(w, r, http.StatusUnauthorized, "Wrong admin token.")
		return
	}
	name, err := displayName(r.PostForm.Get("name"))
	if err != nil {
		d.renderLogin(w, r, http.StatusBadRequest, err.Error())
		return
	}
	value, sess := d.sessions.create(d.Now(), d.SessionTTL)
	d.sessions.setName(sess, name)
	d.setCookie(w, r, SessionCookie, value, int(d.SessionTTL.Seconds()))
	d.setCookie(w, r, loginCSRFCookie, "", -1)
	d.Logger.Info("dashboard login", "remote", r.RemoteAddr)
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, a auth) {
	if a.session != nil {
		d.sessions.remove(a.sessionID)
	}
	d.setCookie(w, r, SessionCookie, "", -1)
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// --- overview ---

// span is one choice of the overview's period.
type span struct {
	Name  string
	Step  time.Duration
	N     int
	Label string // the unit of one bar
}

var spans = []span{
	{"1h", time.Minute, 60, "per minute"},
	{"24h", 30 * time.Minute, 48, "per 30 minutes"},
	{"7d", 4 * time.Hour, 42, "per 4 hours"},
}

type overviewData struct {
	Span, Spans         any
	Counts              Counts
	Accepted, Rejected  int64
	Answered, Escalated int64
	Conversations       int64
	PerMinute           string
	Deflection          string
	Traffic, Decisions  chart
	Waiting             []bot.StoredEscalation
	WaitingMore         bool
	// CSAT is the share of 4s and 5s among the ratings given in the
	// period; Rated counts them, AvgRating is their mean.
	CSAT      string
	Rated     int64
	AvgRating string
}

func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, a auth) {
	sp := spans[0]
	for _, s := range spans {
		if s.Name == r.URL.Query().Get("range") {
			sp = s
		}
	}
	ctx := r.Context()
	now := d.Now().UTC()
	since := now.Truncate(sp.Step).Add(sp.Step - time.Duration(sp.N)*sp.Step)
	buckets, err := d.Stats.Activity(ctx, since, sp.Step, sp.N)
	if err != nil {
		d.fail(w, r, a, err)
		return
	}
	counts, err := d.Stats.Counts(ctx)
	if err != nil {
		d.fail(w, r, a, err)
		return
	}
	const waitingMax = 20
	waiting, err := d.Store.ListEscalations(ctx, "open", waitingMax+1)
	if err != nil {
		d.fail(w, r, a, err)
		return
	}
	data := overviewData{Span: sp, Spans: spans, Counts: counts, Waiting: waiting,
		Conversations: counts.Bot + counts.Escalated + counts.Agent + counts.Resolved}
	if len(waiting) > waitingMax {
		data.Waiting, data.WaitingMore = waiting[:waitingMax], true
	}
	for _, b := range buckets {
		data.Accepted += b.Accepted
		data.Rejected += b.Rejected
		data.Answered += b.Answered
		data.Escalated += b.Escalated
	}
	// The last bucket is still filling: average over the time elapsed.
	minutes := (time.Duration(sp.N-1)*sp.Step + now.Sub(now.Truncate(sp.Step))).Minutes()
	data.PerMinute = strconv.FormatFloat(float64(data.Accepted)/max(minutes, 1), 'f', 1, 64)
	data.Deflection = pct(data.Answered, data.Answered+data.Escalated)
	ratings, err := d.Stats.Ratings(ctx, since)
	if err != nil {
		d.fail(w, r, a, err)
		return
	}
	data.CSAT, data.Rated, data.AvgRating = csat(ratings)
	data.Traffic = trafficChart(buckets, sp)
	data.Decisions = decisionChart(buckets, sp)
	d.render(w, r, http.StatusOK, "overview", a, page{Title: "Overview", Nav: "overview", Data: data})
}

// csat is the share of 4s and 5s among ratings (by score, index 0 for 1),
// how many there are and their mean.
func csat(ratings [5]int64) (share string, n int64, mean string) {
	var sum int64
	for i, c := range ratings {
		n += c
		sum += int64(i+1) * c
	}
	if n == 0 {
		return pct(0, 0), 0, "–"
	}
	return pct(ratings[3]+ratings[4], n), n, strconv.FormatFloat(float64(sum)/float64(n), 'f', 1, 64)
}

// --- conversations ---

type conversationsData struct {
	Query   string
	State   string
	List    []*bot.Conversation
	More    bool
	Limit   int
	Invalid bool
}

func (d *Dashboard) conversations(w http.ResponseWriter, r *http.Request, a auth) {
	const limit = 100
	q := r.URL.Query()
	data := conversationsData{Query: strings.TrimSpace(q.Get("q")), State: q.Get("state"), Limit: limit}
	st := bot.State(data.State)
	if st != "" && !st.Valid() {
		d.fail(w, r, a, bot.Invalid("state", "%q is not a state", data.State))
		return
	}
	list, err := d.Store.ListConversations(r.Context(), bot.ConversationFilter{State: st, Query: data.Query, Limit: limit + 1})
	if err != nil {
		d.fail(w, r, a, err)
		return
	}
	if len(list) > limit {
		list, data.More = list[:limit], true
	}
	data.List = list
	d.render(w, r, http.StatusOK, "conversations", a, page{Title: "Conversations", Nav: "conversations", Data: data})
}

// action is a button on a conversation's page.
type action struct {
	Name, Label string
	To          bot.State
}

var actions = []action{
	{"claim", "Claim", bot.StateAgent},
	{"resolve", "Resolve", bot.StateResolved},
	{"handback", "Hand back to the bot", bot.StateBot},
	{"escalate", "Return to the agents' queue", bot.StateEscalated},
}

// latestEscalation is the store's newest escalation of a conversation,
// when the store has it (the article passages shown on the page).
type latestEscalation interface {
	LatestEscalation(ctx context.Context, key string) (bot.StoredEscalation, error)
}

type conversationData struct {
	// Passages are the article passages the last escalation considered.
	Passages    []bot.Candidate
	C           *bot.Conversation
	Messages    []bot.Message
	Transitions []bot.Transition
	Replies     []bot.StoredReply
	Actions     []action
	// Agent is the operator's display name ("" asks for it in the forms);
	// CanReply is set while people own the conversation; ReplyKey makes
	// the reply form's submission once-only (a resubmitted form sends
	// nothing twice).
	Agent    string
	CanReply bool
	ReplyKey string
	// FAQChoices are the entries offered by "Send FAQ answer".
	FAQChoices []bot.Candidate
	// Handoff is the conversation's last escalation, nil when it has none;
	// Rating the customer's rating, nil when there is none.
	Handoff *handoffView
	Rating  *bot.Rating
}

// handoffView is an escalation as the conversation page shows it. What the
// language model wrote (its reason for escalating, its summary) is marked
// as the model's: agents read it as a claim, which a customer may have
// steered, not as the bot's finding.
type handoffView struct {
	bot.StoredEscalation
	ReasonText     string
	DetailByModel  bool
	SummaryByModel bool
}

// newHandoffView labels what the model wrote in e. A summary is the
// model's unless it is the customer's own words (the engine's summary when
// no model wrote one).
func newHandoffView(e bot.StoredEscalation) *handoffView {
	v := &handoffView{StoredEscalation: e, ReasonText: bot.ReasonText(e.Reason)}
	v.DetailByModel = e.Detail != "" && (e.Reason == bot.ReasonLLMEscalated || e.Reason == bot.ReasonLLMLowConfidence)
	if e.Summary != "" {
		v.SummaryByModel = true
		for i := len(e.Recent) - 1; i >= 0; i-- {
			if e.Recent[i].Author == bot.AuthorCustomer {
				v.SummaryByModel = e.Summary != bot.Clip(e.Recent[i].Text, 500)
				break
			}
		}
	}
	return v
}

func (d *Dashboard) conversation(w http.ResponseWriter, r *http.Request, a auth) {
	ctx, key := r.Context(), r.PathValue("key")
	c, err := d.Store.Conversation(ctx, key)
	if err != nil {
		d.fail(w, r, a, err)
		return
	}
	data := conversationData{C: c}
	if data.Messages, err = d.Store.Messages(ctx, key); err != nil {
		d.fail(w, r, a, err)
		return
	}
	if data.Transitions, err = d.Store.Transitions(ctx, key); err != nil {
		d.fail(w, r, a, err)
		return
	}
	if data.Replies, err = d.Store.Replies(ctx, key); err != nil {
		d.fail(w, r, a, err)
		return
	}
	switch esc, err := d.Store.LatestEscalation(ctx, key); {
	case err == nil:
		data.Handoff = newHandoffView(esc)
	case !errors.Is(err, bot.ErrNotFound):
		d.fail(w, r, a, err)
		return
	}
	switch rt, err := d.Store.Rating(ctx, key); {
	case err == nil:
		data.Rating = &rt
	case !errors.Is(err, bot.ErrNotFound):
		d.fail(w, r, a, err)
		return
	}
	for _, ac := range actions {
		if ac.To == bot.StateAgent && c.State != bot.StateEscalated {
			continue // only an escalation is claimed; an agent's hand-over is not a button
		}
		if c.State.CanTransition(ac.To) {
			data.Actions = append(data.Actions, ac)
		}
	}
	if es, ok := d.Store.(latestEscalation); ok {
		// The article passages the bot considered when it handed over.
		if e, err := es.LatestEscalation(ctx, key); err == nil {
			for _, cand := range e.Candidates {
				if cand.Kind == bot.CandidateArticle {
					data.Passages = append(data.Passages, cand)
				}
			}
		}
	}
	data.Agent = d.sessionName(a)
	data.CanReply = c.State == bot.StateEscalated || c.State == bot.StateAgent
	data.ReplyKey = "dash_" + randomToken(18)
	if data.CanReply && d.FAQ != nil && data.Handoff != nil {
		data.FAQChoices = data.Handoff.Candidates
	}
	ok, failed := flash(r)
	title := cmp.Or(c.Subject, c.Key)
	d.render(w, r, http.StatusOK, "conversation", a, page{Title: title, Nav: "conversations", Flash: ok, Error: failed, Data: data})
}

// postConversation serves POST /admin/conversations/{key...}: a path
// ending in /replies is the reply box, anything else a button. The page
// escapes the key's slashes (convURL), so the suffix is unambiguous.
func (d *Dashboard) postConversation(w http.ResponseWriter, r *http.Request, a auth) {
	if strings.HasSuffix(r.URL.EscapedPath(), "/replies") {
		d.reply(w, r, a, strings.TrimSuffix(r.PathValue("key"), "/replies"))
		return
	}
	if strings.HasSuffix(r.URL.EscapedPath(), "/faq-answer") && d.FAQ != nil {
		d.sendFAQ(w, r, a, strings.TrimSuffix(r.PathValue("key"), "/faq-answer"))
		return
	}
	d.changeConversation(w, r, a)
}

// changeConversation applies one of the page's buttons, as the admin API's
// POST /admin/api/conversations/{key} does, and redirects back. Claim takes
// the conversation for the operator's display name, as Claim in Slack does.
func (d *Dashboard) changeConversation(w http.ResponseWriter, r *http.Request, a auth) {
	key := r.PathValue("key")
	i := slices.IndexFunc(actions, func(ac action) bool { return ac.Name == r.PostForm.Get("action") })
	if i < 0 {
		d.fail(w, r, a, bot.Invalid("action", "want one of claim, resolve, handback, escalate"))
		return
	}
	agent, err := d.agentName(r, a)
	if err != nil {
		d.fail(w, r, a, err)
		return
	}
	to := actions[i].To
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if len(reason) > 500 {
		d.fail(w, r, a, bot.Invalid("reason", "at most 500 bytes"))
		return
	}
	if to == bot.StateAgent && agent == "" {
		d.fail(w, r, a, bot.Invalid("agent", "your name is needed to claim: the customer sees it on your replies"))
		return
	}
	_, err = d.Store.ChangeState(r.Context(), bot.StateChange{Key: key, To: to, Actor: cmp.Or(agent, Actor), Reason: reason})
	var ce *bot.ClaimError
	switch {
	case errors.As(err, &ce):
		http.Redirect(w, r, convURL(key)+"?err=claimed", http.StatusSeeOther)
	case errors.Is(err, bot.ErrConflict):
		http.Redirect(w, r, convURL(key)+"?err=conflict", http.StatusSeeOther)
	case err != nil:
		d.fail(w, r, a, err)
	default:
		http.Redirect(w, r, convURL(key)+"?ok="+url.QueryEscape(string(to)), http.StatusSeeOther)
	}
}

// reply sends the reply box's text to the customer as the operator (the
// same operation as the admin API's replies and `supportbot reply`): it
// claims an escalated conversation and is refused for one the bot owns.
// The form's reply key makes a resubmission (a double click, a reload
// after a slow answer) a no-op.
func (d *Dashboard) reply(w http.ResponseWriter, r *http.Request, a auth, key string) {
	agent, err := d.agentName(r, a)
	if err != nil {
		d.fail(w, r, a, err)
		return
	}
	res, err := d.Store.AgentReply(r.Context(), bot.AgentReply{
		ConversationKey: key, Agent: agent, Text: r.PostForm.Get("text"),
		IdempotencyKey: r.PostForm.Get("reply_key"), Via: "on the dashboard",
	})
	switch {
	case errors.Is(err, bot.ErrIdempotencyKeyReused):
		http.Redirect(w, r, convURL(key)+"?err=reused", http.StatusSeeOther)
	case errors.Is(err, bot.ErrConflict):
		http.Redirect(w, r, convURL(key)+"?err=notyours", http.StatusSeeOther)
	case err != nil:
		d.fail(w, r, a, err)
	default:
		if !res.Replayed {
			d.Logger.Info("agent reply queued from the dashboard", "conversation", key, "agent", agent,
				"reply_id", res.Reply.ID, "claimed", res.Claimed)
		}
		http.Redirect(w, r, convURL(key)+"?ok=replied", http.StatusSeeOther)
	}
}

// sendFAQ sends the chosen entry's answer, as the live knowledge base has
// it, as the operator's reply (the reply box's operation and rules), and
// learns the customer's question as an example of the entry.
func (d *Dashboard) sendFAQ(w http.ResponseWriter, r *http.Request, a auth, key string) {
	agent, err := d.agentName(r, a)
	if err != nil {
		d.fail(w, r, a, err)
		return
	}
	entry, err := d.FAQ.FAQEntry(r.PostForm.Get("entry"))
	if errors.Is(err, bot.ErrNotFound) {
		http.Redirect(w, r, convURL(key)+"?err=noentry", http.StatusSeeOther)
		return
	} else if err != nil {
		d.fail(w, r, a, err)
		return
	}
	res, err := d.Store.AgentReply(r.Context(), bot.AgentReply{
		ConversationKey: key, Agent: agent, Text: entry.Answer,
		IdempotencyKey: r.PostForm.Get("reply_key"), Via: "on the dashboard",
	})
	switch {
	case errors.Is(err, bot.ErrIdempotencyKeyReused):
		http.Redirect(w, r, convURL(key)+"?err=reused", http.StatusSeeOther)
		return
	case errors.Is(err, bot.ErrConflict):
		http.Redirect(w, r, convURL(key)+"?err=notyours", http.StatusSeeOther)
		return
	case err != nil:
		d.fail(w, r, a, err)
		return
	}
	sg, learned, err := d.FAQ.LearnExample(r.Context(), res.Reply.ID, entry.ID, res.Reply.AgentName)
	if err != nil {
		// The customer has the answer; only the learning failed.
		d.Logger.Error("learn example", "conversation", key, "entry", entry.ID, "err", err)
	}
	if !res.Replayed {
		d.Logger.Info("faq answer sent from the dashboard", "conversation", key, "agent", agent, "entry", entry.ID,
			"reply_id", res.Reply.ID, "claimed", res.Claimed, "learned", learned, "suggestion_id", sg.ID)
	}
	http.Redirect(w, r, convURL(key)+"?ok=faqsent", http.StatusSeeOther)
}

// displayName checks an operator's display name: optional, one line, at
// most bot.MaxAgentNameLen bytes.
func displayName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > bot.MaxAgentNameLen || strings.ContainsAny(s, "\r\n\x00") || !utf8.ValidString(s) {
		return "", bot.Invalid("name", "at most %d bytes on one line", bot.MaxAgentNameLen)
	}
	return s, nil
}

// sessionName is the signed-in operator's display name ("" for a bearer
// request or a session without one).
func (d *Dashboard) sessionName(a auth) string {
	if a.session == nil {
		return ""
	}
	return d.sessions.name(a.session)
}

// agentName is the name a form acts under: its agent field when filled
// (kept in the session for the next form), else the session's name.
func (d *Dashboard) agentName(r *http.Request, a auth) (string, error) {
	name, err := displayName(r.PostForm.Get("agent"))
	if err != nil {
		return "", bot.Invalid("agent", "at most %d bytes on one line", bot.MaxAgentNameLen)
	}
	if name == "" {
		return d.sessionName(a), nil
	}
	if a.session != nil {
		d.sessions.setName(a.session, name)
	}
	return name, nil
}

// --- dead letters ---

type deadData struct {
	Kind string
	List []*bot.Job
	More bool
}

func (d *Dashboard) deadLetters(w http.ResponseWriter, r *http.Request, a auth) {
	const limit = 200
	data := deadData{Kind: r.URL.Query().Get("kind")}
	list, err := d.Store.ListJobs(r.Context(), bot.JobFilter{State: bot.JobDiscarded, Kind: data.Kind, Limit: limit + 1})
	if err != nil {
		d.fail(w, r, a, err)
		return
	}
	if len(list) > limit {
		list, data.More = list[:limit], true
	}
	data.List = list
	ok, failed := flash(r)
	d.render(w, r, http.StatusOK, "deadletters", a, page{Title: "Dead letters", Nav: "dead", Flash: ok, Error: failed, Data: data})
}

func (d *Dashboard) replay(w http.ResponseWriter, r *http.Request, a auth) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		d.fail(w, r, a, bot.Invalid("id", "not a number"))
		return
	}
	switch err := d.Store.ReplayJob(r.Context(), id); {
	case errors.Is(err, bot.ErrNotFound):
		http.Redirect(w, r, "/admin/dead-letters?err=gone", http.StatusSeeOther)
	case err != nil:
		d.fail(w, r, a, err)
	default:
		d.Logger.Info("dead letter replayed from the dashboard", "job_id", id)
		http.Redirect(w, r, "/admin/dead-letters?ok=replayed", http.StatusSeeOther)
	}
}

// --- triggers ---

type triggersData struct {
	List      []Trigger
	PublicURL string
}

func (d *Dashboard) triggers(w http.ResponseWriter, r *http.Request, a auth) {
	var list []Trigger
	if d.TriggersFunc != nil {
		var err error
		if list, err = d.TriggersFunc(r.Context()); err != nil {
			d.fail(w, r, a, err)
			return
		}
	}
	data := triggersData{List: list, PublicURL: strings.TrimRight(d.PublicURL, "/")}
	d.render(w, r, http.StatusOK, "triggers", a, page{Title: "Triggers", Nav: "triggers", Data: data})
}
