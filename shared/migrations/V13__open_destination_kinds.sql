-- Destination kinds are checked where their settings are parsed (shared::domain::destination),
-- by the api on the way in and by the worker before it writes; the database keeps the kind as
-- text without a list, so adding a kind needs no migration. (Connectors never had a list here.)
ALTER TABLE destinations DROP CONSTRAINT destinations_kind_check;
