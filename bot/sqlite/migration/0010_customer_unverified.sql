-- A customer's name and e-mail that are the customer's own word (the web
-- chat's visitors declare them), shown to agents as unverified.
ALTER TABLE conversations ADD COLUMN customer_unverified INTEGER NOT NULL DEFAULT 0;
