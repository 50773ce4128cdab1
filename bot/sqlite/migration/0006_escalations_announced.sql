-- The escalation budget counts a trigger's hand-offs announced in a recent
-- window: an index on the time keeps that a range read of a few rows.
CREATE INDEX escalations_announced ON escalations (announced_at) WHERE announced_at IS NOT NULL;
