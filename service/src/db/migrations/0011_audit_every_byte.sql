-- Every byte audited (issue 33): a range that is not counted as a download
-- (it does not start at the first byte) leaves a `range_served` event with
-- the range and its byte count.
ALTER TABLE export_audit_events DROP CONSTRAINT IF EXISTS export_audit_events_event_check;
ALTER TABLE export_audit_events ADD CONSTRAINT export_audit_events_event_check
  CHECK (event IN ('requested', 'queued', 'started', 'progress', 'completed', 'failed', 'retried',
                   'rescued', 'downloaded', 'range_served', 'expired', 'deleted', 'cancelled',
                   'purged'));

-- The audit chain keyed with a secret held outside the database: with
-- LORA_EXPORT_AUDIT_KEY set, the service seals each event it writes, in the
-- event's transaction, with HMAC-SHA256 of the event's chain hash; the key
-- never reaches the database, so its owner can rewrite an event and
-- recompute the unkeyed chain but not the seal (ExportService::verify_audit
-- checks both). A seal goes with its event (the retention purge).
CREATE TABLE IF NOT EXISTS export_audit_seals (
  event_id BIGINT PRIMARY KEY REFERENCES export_audit_events (id) ON DELETE CASCADE,
  mac TEXT NOT NULL
);
ALTER TABLE export_audit_seals ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON export_audit_seals FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON export_audit_seals TO service_role;
