-- Every byte audited (issue 33): a range that is not counted as a download
-- (it does not start at the first byte) leaves a `range_served` event with
-- the range and its byte count.
ALTER TABLE export_audit_events DROP CONSTRAINT IF EXISTS export_audit_events_event_check;
ALTER TABLE export_audit_events ADD CONSTRAINT export_audit_events_event_check
  CHECK (event IN ('requested', 'queued', 'started', 'progress', 'completed', 'failed', 'retried',
                   'rescued', 'downloaded', 'range_served', 'expired', 'deleted', 'cancelled',
                   'purged'));
