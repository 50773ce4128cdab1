-- Follow-ups of unclaimed escalations: when agents were reminded, and when
-- the customer was told to expect a wait. Each happens once per escalation.
ALTER TABLE escalations ADD COLUMN reannounced_at INTEGER;
ALTER TABLE escalations ADD COLUMN noticed_at INTEGER;
