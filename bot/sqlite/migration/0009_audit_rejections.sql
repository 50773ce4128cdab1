-- Requests refused before they proved anything (an unknown trigger, a bad
-- signature or token, a limit), counted per source per minute instead of a
-- row each: a flood of them must not fill the disk. A bounded sample of
-- them still goes to audit.
CREATE TABLE audit_rejections (
	minute   INTEGER NOT NULL, -- unix ms of the minute's start
	remote   TEXT    NOT NULL, -- client address ("other" past the per-minute bound)
	trigger  TEXT    NOT NULL, -- "" for an unknown trigger
	status   INTEGER NOT NULL,
	count    INTEGER NOT NULL,
	PRIMARY KEY (minute, remote, trigger, status)
);
