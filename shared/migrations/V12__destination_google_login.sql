-- The Google login (the `sub` of Google's token information) a google_sheets destination's
-- tokens belong to, learned on first use: Google's per-user Sheets quota is per login, so
-- every destination on one Google account draws on one budget.
ALTER TABLE destinations ADD COLUMN google_subject text;
