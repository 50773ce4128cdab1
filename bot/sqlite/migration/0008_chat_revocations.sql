-- Web chat visitors whose sessions were ended on the server: the visitor
-- signed out, or the conversation was deleted. Their tokens are refused
-- however long they still run; a page that comes back starts a new visitor.
CREATE TABLE chat_revocations (
	conversation_key TEXT    PRIMARY KEY,  -- trigger/visitor id
	revoked_at       INTEGER NOT NULL
);
