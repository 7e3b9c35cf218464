-- When a platform last reported a rate budget's usage (usage_percent), so dashboards show how
-- fresh the figure is and list only budgets the platforms reported on recently.
ALTER TABLE rate_budgets ADD COLUMN usage_reported_at timestamptz;
UPDATE rate_budgets SET usage_reported_at = updated_at WHERE usage_percent IS NOT NULL;
CREATE INDEX rate_budgets_usage ON rate_budgets (usage_reported_at) WHERE usage_percent IS NOT NULL;
