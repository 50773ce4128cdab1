-- Close calls asked of the customer: when the two best FAQ entries are too
-- close to choose, the bot asks which one the customer means and keeps both
-- here (a JSON array of {id, question, score}, '' for none) until the next
-- turn picks one or is decided without them.
ALTER TABLE conversations ADD COLUMN pending_choice TEXT NOT NULL DEFAULT '';
