-- The W3C `traceparent` of the span that created a job (an API request, a scheduler tick), so
-- the relay, which publishes later and from another process, continues that trace: its publish
-- span is the request's child, and the worker's job span is the publish span's child. NULL when
-- tracing was off.
ALTER TABLE jobs ADD COLUMN traceparent text;
