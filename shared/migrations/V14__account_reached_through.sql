-- The platform account an account is reached through, where requests for it must name one
-- (Google Ads: the manager sent as login-customer-id, found by walking the managers'
-- customer_client hierarchy at discovery). NULL when requests name none, or when the
-- connection's own settings say it for all its accounts.
ALTER TABLE accounts ADD COLUMN reached_through text
    CHECK (reached_through IS NULL OR length(reached_through) BETWEEN 1 AND 100);
