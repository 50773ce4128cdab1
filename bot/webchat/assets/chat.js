// supportbot web chat. Every text shown comes from customers or agents and
// is hostile: it is only ever set with textContent, never parsed as HTML.
// The one markup read is a Markdown link [text](http(s)://...) in a line of
// the bot's or an agent's, made an <a> element with its text set by
// textContent; anything else, a javascript: link included, stays text.
(function () {
  'use strict';

  var body = document.body;
  var trigger = body.dataset.trigger;
  var sessionURL = body.dataset.sessionUrl;
  var eventsURL = body.dataset.eventsUrl;
  var hookURL = body.dataset.hookUrl;
  var ratingURL = body.dataset.ratingUrl;
  var storeKey = 'supportbot.chat.' + trigger;

  var log = document.getElementById('log');
  var statusEl = document.getElementById('status');
  var notice = document.getElementById('notice');
  var form = document.getElementById('composer');
  var input = document.getElementById('text');
  var button = document.getElementById('send');
  var rating = document.getElementById('rating');
  var ratingForm = document.getElementById('rating-form');
  var ratingThanks = document.getElementById('rating-thanks');
  var ratingComment = document.getElementById('rating-comment');
  var ratingSend = document.getElementById('rating-send');
  var scoreButtons = Array.prototype.slice.call(document.querySelectorAll('#rating .score'));

  var session = null;
  var source = null;
  var lastId = '';      // the stream's cursor: the last reply (or ready) id
  var seen = new Set(); // ids of the lines shown, so a replay or retry shows once
  var retries = 0;
  var reconnectTimer = 0;
  var state = '';       // the conversation's state ('' before the first message)
  var agentName = '';   // the agent who answers now, when known
  var stateAt = 0;      // when the state shown was reached (server time, ms)
  var quick = null;     // the quick replies under the last line, if any
  var score = 0;        // the rating chosen, before it is sent
  var rated = 0;        // the rating stored for this resolution

  function setStatus(text) { statusEl.textContent = text; }

  // stateText is the status line for a conversation's state: who answers.
  function stateText() {
    switch (state) {
      case 'escalated': return 'Waiting for a person from our team';
      case 'agent': return agentName ? 'Chatting with ' + agentName : 'A person from our team is here';
      case 'resolved': return 'Resolved · write again if you need more help';
      default: return 'Online';
    }
  }

  // follow moves the status line to a new state; agent, when given, is who
  // holds the conversation now. A reply queued before a later change (an
  // agent's last words, then Resolve) can arrive after it: its state is
  // older than the one shown, and ignored.
  function follow(st, agent, at) {
    if (typeof st !== 'string' || !st) return;
    var t = at ? Date.parse(at) : NaN;
    if (t < stateAt) return;
    if (t > stateAt) stateAt = t;
    if (st !== 'agent') agentName = '';
    if (agent) agentName = agent;
    state = st;
    statusEl.dataset.state = state;
    setStatus(stateText());
    // Quick replies are the bot's questions: gone once people or nobody
    // answer; the rating is offered while the conversation is resolved.
    if (state !== 'bot') dropQuick();
    if (state !== 'resolved') resetRating(); // a new resolution may be rated anew
    showRating();
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  function who(line) {
    if (line.author === 'customer') return 'You';
    if (line.author === 'agent') return line.agent_name || 'Support team';
    return 'Assistant (bot)';
  }

  // dropQuick removes the quick replies: used, or answered by a newer line.
  function dropQuick() {
    if (quick) {
      quick.remove();
      quick = null;
    }
  }

  // addQuick shows a reply's options as buttons under it; a click sends
  // the option's text as the visitor's message.
  function addQuick(li, options) {
    var box = document.createElement('div');
    box.className = 'quick';
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', 'Quick replies');
    options.forEach(function (opt) {
      if (typeof opt !== 'string' || !opt) return;
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'quick-reply';
      b.textContent = opt;
      b.addEventListener('click', function () {
        if (!session) return;
        var all = box.querySelectorAll('button');
        all.forEach(function (x) { x.disabled = true; });
        showNotice('');
        send(opt).then(function (ok) {
          if (ok) {
            if (quick === box) dropQuick();
            input.focus();
          } else {
            all.forEach(function (x) { x.disabled = false; });
          }
        }, function () {
          all.forEach(function (x) { x.disabled = false; });
          showNotice('Your message was not sent: the connection failed. Please try again.');
        });
      });
      box.appendChild(b);
    });
    li.appendChild(box);
    quick = box;
  }

  // LINK matches a Markdown link to an http(s) URL: the text may escape
  // \\, [ and ] with a backslash; the URL has no space or parenthesis.
  var LINK = /\[((?:[^\[\]\\\n]|\\.)+)\]\((https?:\/\/[^\s()<>"]+)\)/g;

  // renderText fills el with text, links made <a> elements when links is
  // set. Only text nodes and <a> elements with an http(s) href are made.
  function renderText(el, text, links) {
    if (!links) { el.textContent = text; return; }
    var last = 0;
    LINK.lastIndex = 0;
    var m;
    while ((m = LINK.exec(text)) !== null) {
      var url;
      try { url = new URL(m[2]); } catch (e) { continue; }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') continue;
      if (m.index > last) el.appendChild(document.createTextNode(text.slice(last, m.index)));
      var a = document.createElement('a');
      a.href = url.href;
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow';
      a.textContent = m[1].replace(/\\(.)/g, '$1');
      el.appendChild(a);
      last = m.index + m[0].length;
    }
    if (last < text.length) el.appendChild(document.createTextNode(text.slice(last)));
  }

  // add shows one line of the conversation once.
  function add(line) {
    if (line.id) {
      if (seen.has(line.id)) return;
      seen.add(line.id);
    }
    dropQuick(); // a newer line answers the question of the last one
    var li = document.createElement('li');
    // The greeting is the assistant's, but not a reply: its own class.
    li.className = 'msg ' + (line.author === 'customer' || line.author === 'agent' ? line.author :
      line.kind === 'greeting' ? 'greeting' : 'bot');
    if (line.kind === 'handoff' || line.kind === 'notice') li.classList.add(line.kind);
    if (line.id) li.dataset.id = line.id;
    var name = document.createElement('span');
    name.className = 'who';
    name.textContent = who(line);
    var text = document.createElement('p');
    text.className = 'text';
    renderText(text, line.text || '', line.author === 'bot' || line.author === 'agent');
    li.appendChild(name);
    li.appendChild(text);
    if (line.author === 'bot' && Array.isArray(line.options) && line.options.length) addQuick(li, line.options);
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  function loadStored() {
    try {
      var v = JSON.parse(window.localStorage.getItem(storeKey) || 'null');
      if (v && typeof v.visitor_id === 'string' && typeof v.token === 'string') return v;
    } catch (e) { /* storage blocked or corrupt: start afresh */ }
    return null;
  }

  function store(s) {
    try {
      window.localStorage.setItem(storeKey, JSON.stringify({ visitor_id: s.visitor_id, token: s.token }));
    } catch (e) { /* storage blocked: the cookie still keeps the session */ }
  }

  // startSession resumes the visitor's session (a fresh token for the same
  // visitor) or starts a new one.
  function startSession() {
    var stored = loadStored() || {};
    return fetch(sessionURL, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ visitor_id: stored.visitor_id || '', token: stored.token || '' })
    }).then(function (res) {
      if (!res.ok) throw new Error('session: HTTP ' + res.status);
      return res.json();
    }).then(function (s) {
      session = s;
      store(s);
      return s;
    });
  }

  function connect() {
    if (source) source.close();
    var url = eventsURL + '?visitor=' + encodeURIComponent(session.visitor_id) +
      '&token=' + encodeURIComponent(session.stream_token || session.token);
    if (lastId) url += '&after=' + encodeURIComponent(lastId);
    source = new EventSource(url);
    source.addEventListener('customer', function (e) { add(JSON.parse(e.data)); });
    source.addEventListener('reply', function (e) {
      if (e.lastEventId) lastId = e.lastEventId;
      var line = JSON.parse(e.data);
      add(line);
      follow(line.state, line.author === 'agent' ? line.agent_name : '', line.at);
    });
    // A change of owner without a reply (a claim, a resolution).
    source.addEventListener('state', function (e) {
      var s = JSON.parse(e.data);
      follow(s.state, s.agent_name, s.at);
    });
    source.addEventListener('ready', function (e) {
      if (e.lastEventId) lastId = e.lastEventId;
      retries = 0;
      var r = JSON.parse(e.data || '{}');
      if (r.state === 'resolved' && r.rating) rated = r.rating;
      if (r.state) {
        follow(r.state, r.agent_name);
      } else {
        statusEl.dataset.state = state || 'bot';
        setStatus(stateText());
      }
      body.dataset.ready = 'true';
    });
    // The stream's lifetime is up: reconnect with a fresh stream token.
    source.addEventListener('renew', function () {
      source.close();
      startSession().then(connect, scheduleReconnect);
    });
    source.onerror = function () {
      setStatus('Reconnecting…');
      if (source.readyState === EventSource.CLOSED) scheduleReconnect();
      // Otherwise the browser reconnects by itself, sending Last-Event-ID.
    };
  }

  // scheduleReconnect reopens a stream the browser gave up on (an HTTP
  // error such as an expired session, or the server shutting down).
  function scheduleReconnect() {
    if (reconnectTimer) return;
    var delay = Math.min(30000, 1000 * Math.pow(2, retries++)) * (0.5 + Math.random() / 2);
    reconnectTimer = window.setTimeout(function () {
      reconnectTimer = 0;
      startSession().then(connect, scheduleReconnect);
    }, delay);
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var a = new Uint8Array(16);
    window.crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function post(id, text) {
    return fetch(hookURL, {
      method: 'POST',
      credentials: 'omit',
      headers: {
        'Content-Type': 'application/json',
        'X-Chat-Visitor': session.visitor_id,
        'X-Chat-Token': session.token
      },
      body: JSON.stringify({ id: id, text: text })
    });
  }

  function send(text) {
    var id = newId(); // the same id on a retry: the server takes it once
    return post(id, text).then(function (res) {
      if (res.status !== 401) return res;
      // The session expired: renew it (a new visitor if it could not be
      // resumed, whose stream starts afresh) and send again.
      var before = session.visitor_id;
      return startSession().then(function (s) {
        if (s.visitor_id !== before) {
          lastId = '';
          connect();
        }
        return post(id, text);
      });
    }).then(function (res) {
      if (res.ok) {
        add({ id: 'c:' + id, author: 'customer', text: text });
        return true;
      }
      if (res.status === 429) {
        var wait = parseInt(res.headers.get('Retry-After') || '1', 10);
        showNotice('You are sending messages too quickly. Please wait ' + wait + ' s and try again.');
        return false;
      }
      return res.json().catch(function () { return {}; }).then(function (e) {
        showNotice('Your message was not sent' + (e && e.error ? ': ' + e.error : '.'));
        return false;
      });
    });
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text || !session) return;
    button.disabled = true;
    showNotice('');
    send(text).then(function (ok) {
      if (ok) input.value = '';
    }, function () {
      showNotice('Your message was not sent: the connection failed. Please try again.');
    }).then(function () {
      button.disabled = false;
      input.focus();
    });
  });

  input.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });

  // showRating offers the 1–5 rating while the conversation is resolved,
  // and thanks the visitor once it is stored.
  function showRating() {
    if (!rating) return;
    rating.hidden = state !== 'resolved';
    ratingForm.hidden = rated > 0;
    ratingThanks.hidden = !rated;
  }

  function resetRating() {
    rated = 0;
    if (!rating) return;
    pickScore(0);
    ratingComment.value = '';
  }

  function pickScore(n) {
    score = n;
    scoreButtons.forEach(function (b) {
      b.setAttribute('aria-pressed', String(parseInt(b.dataset.score, 10) === n));
    });
    ratingSend.disabled = !n;
  }

  scoreButtons.forEach(function (b) {
    b.addEventListener('click', function () { pickScore(parseInt(b.dataset.score, 10)); });
  });

  function postRating() {
    return fetch(ratingURL, {
      method: 'POST',
      credentials: 'omit',
      headers: {
        'Content-Type': 'application/json',
        'X-Chat-Visitor': session.visitor_id,
        'X-Chat-Token': session.token
      },
      body: JSON.stringify({ score: score, comment: ratingComment.value.trim() })
    });
  }

  if (ratingForm) {
    ratingForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!score || !session) return;
      ratingSend.disabled = true;
      showNotice('');
      postRating().then(function (res) {
        if (res.ok) {
          rated = score;
          showRating();
          return;
        }
        if (res.status === 429) {
          showNotice('Please wait ' + (res.headers.get('Retry-After') || '1') + ' s and try again.');
        } else if (res.status === 409) {
          showNotice('Your rating was not saved: the conversation is open again.');
        } else {
          showNotice('Your rating was not saved. Please try again.');
        }
        ratingSend.disabled = false;
      }, function () {
        showNotice('Your rating was not saved: the connection failed. Please try again.');
        ratingSend.disabled = false;
      });
    });
  }

  // The greeting opens the page as the assistant's first line; it is the
  // page's own, not a message of the conversation.
  if (body.dataset.greeting) {
    add({ id: 'greeting', author: 'bot', kind: 'greeting', text: body.dataset.greeting });
  }

  startSession().then(connect, function () {
    setStatus('Offline');
    scheduleReconnect();
  });
})();
