-- Inbox: every accepted webhook, once. (trigger, event_id) makes a
-- redelivery a no-op. Times are unix milliseconds, UTC.
CREATE TABLE inbox (
	id               INTEGER PRIMARY KEY,
	trigger          TEXT    NOT NULL,
	event_id         TEXT    NOT NULL,
	conversation_key TEXT    NOT NULL,
	type             TEXT    NOT NULL,
	payload          BLOB    NOT NULL,
	received_at      INTEGER NOT NULL,
	UNIQUE (trigger, event_id)
);

-- Jobs: the durable queue. Jobs sharing a queue_key run one at a time, in id
-- order. A job ends completed or discarded and is never deleted silently.
CREATE TABLE jobs (
	id           INTEGER PRIMARY KEY,
	kind         TEXT    NOT NULL,
	queue_key    TEXT    NOT NULL,
	payload      BLOB    NOT NULL,
	state        TEXT    NOT NULL DEFAULT 'queued'
	             CHECK (state IN ('queued', 'running', 'completed', 'discarded')),
	attempt      INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL,
	run_at       INTEGER NOT NULL,
	locked_until INTEGER,
	last_error   TEXT,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	finalized_at INTEGER
);
CREATE INDEX jobs_ready     ON jobs (run_at, id)       WHERE state = 'queued';
CREATE INDEX jobs_lane      ON jobs (queue_key, id)    WHERE state IN ('queued', 'running');
CREATE INDEX jobs_running   ON jobs (locked_until)     WHERE state = 'running';
CREATE INDEX jobs_discarded ON jobs (kind, id)         WHERE state = 'discarded';
CREATE INDEX jobs_finalized ON jobs (finalized_at)     WHERE finalized_at IS NOT NULL;

CREATE TABLE conversations (
	key              TEXT    PRIMARY KEY,
	trigger          TEXT    NOT NULL,
	external_id      TEXT    NOT NULL,
	subject          TEXT    NOT NULL DEFAULT '',
	url              TEXT    NOT NULL DEFAULT '',
	priority         TEXT    NOT NULL DEFAULT '',
	tags             TEXT    NOT NULL DEFAULT '[]',
	customer_id      TEXT    NOT NULL DEFAULT '',
	customer_name    TEXT    NOT NULL DEFAULT '',
	customer_email   TEXT    NOT NULL DEFAULT '',
	state            TEXT    NOT NULL DEFAULT 'bot'
	                 CHECK (state IN ('bot', 'escalated', 'agent', 'resolved')),
	failed_turns     INTEGER NOT NULL DEFAULT 0,
	slack_channel    TEXT    NOT NULL DEFAULT '',
	slack_ts         TEXT    NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	last_customer_at INTEGER NOT NULL
);
CREATE INDEX conversations_state ON conversations (state, updated_at);
CREATE INDEX conversations_updated ON conversations (updated_at);

-- Messages: the transcript. A customer message's turn is NULL until a
-- decision answers it; the messages of one burst share a turn.
CREATE TABLE messages (
	id               INTEGER PRIMARY KEY,
	conversation_key TEXT    NOT NULL REFERENCES conversations (key),
	inbox_id         INTEGER UNIQUE REFERENCES inbox (id),
	external_id      TEXT    NOT NULL DEFAULT '',
	author           TEXT    NOT NULL CHECK (author IN ('customer', 'bot', 'agent')),
	agent_name       TEXT    NOT NULL DEFAULT '',
	text             TEXT    NOT NULL,
	turn             INTEGER,
	created_at       INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_key, id);

CREATE TABLE transitions (
	id               INTEGER PRIMARY KEY,
	conversation_key TEXT    NOT NULL REFERENCES conversations (key),
	from_state       TEXT    NOT NULL,
	to_state         TEXT    NOT NULL,
	actor            TEXT    NOT NULL,
	reason           TEXT    NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL
);
CREATE INDEX transitions_conversation ON transitions (conversation_key, id);

-- Decisions: one per answered turn.
CREATE TABLE decisions (
	id               INTEGER PRIMARY KEY,
	conversation_key TEXT    NOT NULL REFERENCES conversations (key),
	turn             INTEGER NOT NULL,
	action           TEXT    NOT NULL,
	reason           TEXT    NOT NULL DEFAULT '',
	confidence       REAL    NOT NULL DEFAULT 0,
	source           TEXT    NOT NULL DEFAULT '',
	payload          BLOB    NOT NULL,
	created_at       INTEGER NOT NULL
);
CREATE INDEX decisions_conversation ON decisions (conversation_key, id);
CREATE INDEX decisions_created ON decisions (created_at);

-- Replies: every outbound message; id is the idempotency key sent out.
CREATE TABLE replies (
	id               TEXT    PRIMARY KEY,
	conversation_key TEXT    NOT NULL REFERENCES conversations (key),
	kind             TEXT    NOT NULL,
	author           TEXT    NOT NULL,
	agent_name       TEXT    NOT NULL DEFAULT '',
	text             TEXT    NOT NULL,
	state            TEXT    NOT NULL,
	status           TEXT    NOT NULL DEFAULT 'queued'
	                 CHECK (status IN ('queued', 'sent', 'suppressed', 'failed')),
	job_id           INTEGER,
	created_at       INTEGER NOT NULL,
	sent_at          INTEGER
);
CREATE INDEX replies_conversation ON replies (conversation_key, created_at);

CREATE TABLE escalations (
	id               INTEGER PRIMARY KEY,
	conversation_key TEXT    NOT NULL REFERENCES conversations (key),
	reason           TEXT    NOT NULL,
	payload          BLOB    NOT NULL,
	status           TEXT    NOT NULL DEFAULT 'open'
	                 CHECK (status IN ('open', 'claimed', 'resolved', 'returned')),
	announced_at     INTEGER,
	claimed_by       TEXT    NOT NULL DEFAULT '',
	claimed_at       INTEGER,
	closed_at        INTEGER,
	created_at       INTEGER NOT NULL
);
CREATE INDEX escalations_status ON escalations (status, created_at);
CREATE INDEX escalations_conversation ON escalations (conversation_key, id);

-- Audit: every request to the intake, accepted or not, without secrets.
CREATE TABLE audit (
	id          INTEGER PRIMARY KEY,
	at          INTEGER NOT NULL,
	trigger     TEXT    NOT NULL,
	remote      TEXT    NOT NULL DEFAULT '',
	method      TEXT    NOT NULL DEFAULT '',
	status      INTEGER NOT NULL,
	event_id    TEXT    NOT NULL DEFAULT '',
	error       TEXT    NOT NULL DEFAULT '',
	bytes       INTEGER NOT NULL DEFAULT 0,
	duration_us INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX audit_at ON audit (at);
