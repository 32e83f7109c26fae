-- Append-only audit events. Each event carries the hash of the previous
-- event of its export; export_audit_verify() recomputes the chain and
-- reports every modified or removed row. A trigger refuses UPDATE and
-- DELETE to every role, except the retention purge of events older than
-- the retention window (set per transaction in lora_export.audit_retention_days).
CREATE TABLE IF NOT EXISTS export_audit_events (
  id BIGSERIAL PRIMARY KEY,
  export_id UUID NOT NULL,
  user_id UUID NOT NULL,
  event TEXT NOT NULL CHECK (event IN ('requested', 'queued', 'started', 'progress', 'completed', 'failed', 'retried', 'rescued', 'downloaded', 'expired', 'deleted', 'cancelled', 'purged')),
  detail JSONB NOT NULL DEFAULT '{}',
  created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  seq INTEGER NOT NULL,
  prev_hash TEXT,
  hash TEXT NOT NULL,
  UNIQUE (export_id, seq)
);
CREATE INDEX IF NOT EXISTS idx_export_audit_events_export ON export_audit_events(export_id, seq);
CREATE INDEX IF NOT EXISTS idx_export_audit_events_created ON export_audit_events(created_at);
CREATE INDEX IF NOT EXISTS idx_export_audit_events_event ON export_audit_events(event, created_at);

CREATE OR REPLACE FUNCTION export_audit_event_hash(
  p_prev TEXT, p_export UUID, p_user UUID, p_seq INTEGER, p_event TEXT, p_detail JSONB, p_at TIMESTAMPTZ
) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(
    concat_ws('|', COALESCE(p_prev, ''), p_export::text, p_user::text, p_seq::text, p_event,
              p_detail::text, to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
    'UTF8')), 'hex')
$$;

CREATE OR REPLACE FUNCTION export_audit_events_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
DECLARE
  v_prev export_audit_events%ROWTYPE;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('lora_export.audit:' || NEW.export_id::text, 0));
  SELECT * INTO v_prev FROM export_audit_events
   WHERE export_id = NEW.export_id ORDER BY seq DESC LIMIT 1;
  NEW.created_at := clock_timestamp();
  NEW.seq := COALESCE(v_prev.seq, 0) + 1;
  NEW.prev_hash := v_prev.hash;
  NEW.hash := export_audit_event_hash(NEW.prev_hash, NEW.export_id, NEW.user_id, NEW.seq,
                                      NEW.event, NEW.detail, NEW.created_at);
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION export_audit_events_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_days INTEGER := COALESCE(NULLIF(current_setting('lora_export.audit_retention_days', true), '')::INTEGER, 30);
BEGIN
  IF TG_OP = 'DELETE' AND OLD.created_at < clock_timestamp() - make_interval(days => v_days) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'export_audit_events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

DROP TRIGGER IF EXISTS export_audit_events_chain ON export_audit_events;
CREATE TRIGGER export_audit_events_chain BEFORE INSERT ON export_audit_events
  FOR EACH ROW EXECUTE FUNCTION export_audit_events_chain();
DROP TRIGGER IF EXISTS export_audit_events_guard ON export_audit_events;
CREATE TRIGGER export_audit_events_guard BEFORE UPDATE OR DELETE ON export_audit_events
  FOR EACH ROW EXECUTE FUNCTION export_audit_events_guard();

-- Verifies the hash chain of one export (or of every export when NULL):
-- one row per problem; no rows means the chain is intact. The first
-- remaining event may follow purged ones (seq > 1 with a prev_hash).
CREATE OR REPLACE FUNCTION export_audit_verify(p_export UUID DEFAULT NULL)
RETURNS TABLE (export_id UUID, seq INTEGER, problem TEXT)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  r RECORD;
  v_prev_export UUID := NULL;
  v_prev_hash TEXT;
  v_prev_seq INTEGER;
BEGIN
  FOR r IN
    SELECT e.* FROM export_audit_events e
    WHERE p_export IS NULL OR e.export_id = p_export
    ORDER BY e.export_id, e.seq
  LOOP
    IF r.hash IS DISTINCT FROM export_audit_event_hash(r.prev_hash, r.export_id, r.user_id, r.seq,
                                                       r.event, r.detail, r.created_at) THEN
      export_id := r.export_id; seq := r.seq; problem := 'modified: hash does not match the row';
      RETURN NEXT;
    END IF;
    IF v_prev_export IS DISTINCT FROM r.export_id THEN
      IF r.seq = 1 AND r.prev_hash IS NOT NULL THEN
        export_id := r.export_id; seq := r.seq; problem := 'first event has a previous hash';
        RETURN NEXT;
      END IF;
    ELSE
      IF r.seq <> v_prev_seq + 1 THEN
        export_id := r.export_id; seq := r.seq;
        problem := format('removed: events %s to %s are missing', v_prev_seq + 1, r.seq - 1);
        RETURN NEXT;
      END IF;
      IF r.prev_hash IS DISTINCT FROM v_prev_hash THEN
        export_id := r.export_id; seq := r.seq; problem := 'chain broken: previous hash does not match';
        RETURN NEXT;
      END IF;
    END IF;
    v_prev_export := r.export_id; v_prev_hash := r.hash; v_prev_seq := r.seq;
  END LOOP;
END
$$;

ALTER TABLE export_audit_events ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS "Users can view own audit events" ON export_audit_events;
CREATE POLICY "Users can view own audit events"
  ON export_audit_events FOR SELECT USING (auth.uid() = user_id);
DROP POLICY IF EXISTS "Users can add own audit events" ON export_audit_events;
CREATE POLICY "Users can add own audit events"
  ON export_audit_events FOR INSERT WITH CHECK (auth.uid() = user_id);
GRANT SELECT, INSERT ON export_audit_events TO authenticated;
GRANT USAGE ON SEQUENCE export_audit_events_id_seq TO authenticated;
GRANT ALL ON export_audit_events TO service_role;
GRANT USAGE ON SEQUENCE export_audit_events_id_seq TO service_role;
GRANT EXECUTE ON FUNCTION export_audit_verify(UUID) TO service_role;

CREATE OR REPLACE FUNCTION export_audit_events_no_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'export_audit_events is append-only: TRUNCATE refused'
    USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER IF EXISTS export_audit_events_no_truncate ON export_audit_events;
CREATE TRIGGER export_audit_events_no_truncate BEFORE TRUNCATE ON export_audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION export_audit_events_no_truncate();
