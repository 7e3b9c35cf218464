-- Two cadences per sync: frequent fresh runs over the last `fresh_days`, and once a day (the
-- first run of each local day) a run over the whole restatement lookback, `lookback_days`.

ALTER TABLE syncs ADD COLUMN fresh_days integer NOT NULL DEFAULT 3 CHECK (fresh_days >= 1);
UPDATE syncs SET fresh_days = least(fresh_days, lookback_days);
ALTER TABLE syncs ADD CONSTRAINT syncs_fresh_within_lookback CHECK (fresh_days <= lookback_days);

-- The local date (in the sync's time zone) of the last lookback run the scheduler enqueued.
ALTER TABLE syncs ADD COLUMN lookback_enqueued_on date;
