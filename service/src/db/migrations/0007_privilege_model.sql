-- The privilege model (see the `pg` module docs): `authenticated` may read
-- its own export rows and audit events, and the shared conversations, and
-- nothing more; `anon` nothing. Every state change goes through the
-- service's own connection (the role that owns these objects). Also fixes
-- databases migrated with the earlier schema, and databases whose default
-- privileges grant everything to `anon`/`authenticated` (Supabase's
-- `public` schema does).

-- 1. Writes by users are gone: their policies, their grants, their functions.
DROP POLICY IF EXISTS "Users can create own export logs" ON export_logs;
DROP POLICY IF EXISTS "Users can update own export logs" ON export_logs;
DROP POLICY IF EXISTS "Users can add own audit events" ON export_audit_events;
DROP FUNCTION IF EXISTS export_job_enqueue(UUID, INTEGER, INTEGER);
DROP FUNCTION IF EXISTS export_job_cancel(UUID);
DROP FUNCTION IF EXISTS export_job_progress(UUID);

-- The policies say who they are for.
DROP POLICY IF EXISTS "Users can view own export logs" ON export_logs;
CREATE POLICY "Users can view own export logs"
  ON export_logs FOR SELECT TO authenticated USING (auth.uid() = user_id);
DROP POLICY IF EXISTS "Users can view own audit events" ON export_audit_events;
CREATE POLICY "Users can view own audit events"
  ON export_audit_events FOR SELECT TO authenticated USING (auth.uid() = user_id);

-- 2. The audit trail keeps a head per export (its last seq and hash), so that
-- a removed tail or a whole removed chain is detectable, and an anchor per
-- purged prefix (the last purged seq and hash), so that a purge leaves a
-- chain that still verifies. Only the owner writes either, through the
-- triggers and export_audit_purge().
CREATE TABLE IF NOT EXISTS export_audit_heads (
  export_id UUID PRIMARY KEY,
  user_id UUID NOT NULL,
  last_seq INTEGER NOT NULL,
  last_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS export_audit_anchors (
  export_id UUID PRIMARY KEY,
  up_to_seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  purged_before TIMESTAMPTZ NOT NULL,
  purged_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
ALTER TABLE export_audit_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE export_audit_anchors ENABLE ROW LEVEL SECURITY;
ALTER TABLE lora_export_migrations ENABLE ROW LEVEL SECURITY;

INSERT INTO export_audit_heads (export_id, user_id, last_seq, last_hash)
SELECT DISTINCT ON (export_id) export_id, user_id, seq, hash
FROM export_audit_events ORDER BY export_id, seq DESC
ON CONFLICT (export_id) DO NOTHING;
INSERT INTO export_audit_anchors (export_id, up_to_seq, hash, purged_before)
SELECT export_id, seq - 1, prev_hash, created_at FROM (
  SELECT DISTINCT ON (export_id) export_id, seq, prev_hash, created_at
  FROM export_audit_events ORDER BY export_id, seq) first_left
WHERE seq > 1 AND prev_hash IS NOT NULL
ON CONFLICT (export_id) DO NOTHING;

CREATE OR REPLACE FUNCTION export_audit_events_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
DECLARE
  v_head export_audit_heads%ROWTYPE;
  v_owner UUID;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('lora_export.audit:' || NEW.export_id::text, 0));
  SELECT user_id INTO v_owner FROM export_logs WHERE export_id = NEW.export_id;
  IF v_owner IS NOT NULL AND v_owner <> NEW.user_id THEN
    RAISE EXCEPTION 'audit event for export % names another user than its owner', NEW.export_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT * INTO v_head FROM export_audit_heads WHERE export_id = NEW.export_id;
  NEW.created_at := clock_timestamp();
  NEW.seq := COALESCE(v_head.last_seq, 0) + 1;
  NEW.prev_hash := v_head.last_hash;
  NEW.hash := export_audit_event_hash(NEW.prev_hash, NEW.export_id, NEW.user_id, NEW.seq,
                                      NEW.event, NEW.detail, NEW.created_at);
  INSERT INTO export_audit_heads (export_id, user_id, last_seq, last_hash)
  VALUES (NEW.export_id, NEW.user_id, NEW.seq, NEW.hash)
  ON CONFLICT (export_id) DO UPDATE SET last_seq = EXCLUDED.last_seq, last_hash = EXCLUDED.last_hash;
  RETURN NEW;
END
$$;

-- No setting opens the guard: an event can be deleted only when an anchor
-- covers it and it is older than a day (export_audit_purge() writes the
-- anchor first); nothing can be updated.
CREATE OR REPLACE FUNCTION export_audit_events_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.created_at < clock_timestamp() - interval '1 day' AND EXISTS (
       SELECT 1 FROM export_audit_anchors a
       WHERE a.export_id = OLD.export_id AND OLD.seq <= a.up_to_seq
         AND OLD.created_at < a.purged_before) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'export_audit_events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- The one retention purge: anchors, then deletes, every event older than
-- p_days (at least 1). Returns how many events it removed.
CREATE OR REPLACE FUNCTION export_audit_purge(p_days INTEGER)
RETURNS BIGINT LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
DECLARE
  v_before TIMESTAMPTZ;
  v_deleted BIGINT;
BEGIN
  IF p_days IS NULL OR p_days < 1 THEN
    RAISE EXCEPTION 'audit retention must be at least 1 day, got %', p_days
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v_before := clock_timestamp() - make_interval(days => p_days);
  INSERT INTO export_audit_anchors AS a (export_id, up_to_seq, hash, purged_before)
  SELECT DISTINCT ON (e.export_id) e.export_id, e.seq, e.hash, v_before
  FROM export_audit_events e WHERE e.created_at < v_before
  ORDER BY e.export_id, e.seq DESC
  ON CONFLICT (export_id) DO UPDATE
    SET up_to_seq = GREATEST(a.up_to_seq, EXCLUDED.up_to_seq),
        hash = CASE WHEN EXCLUDED.up_to_seq > a.up_to_seq THEN EXCLUDED.hash ELSE a.hash END,
        purged_before = EXCLUDED.purged_before, purged_at = clock_timestamp();
  DELETE FROM export_audit_events e USING export_audit_anchors a
  WHERE e.export_id = a.export_id AND e.seq <= a.up_to_seq AND e.created_at < v_before;
  GET DIAGNOSTICS v_deleted = ROW_COUNT;
  RETURN v_deleted;
END
$$;

-- Verifies the chain of one export (or of every export when NULL) against
-- its head and its anchor: one row per problem, none when intact.
CREATE OR REPLACE FUNCTION export_audit_verify(p_export UUID DEFAULT NULL)
RETURNS TABLE (export_id UUID, seq INTEGER, problem TEXT)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  r RECORD;
  h RECORD;
  v_prev_export UUID := NULL;
  v_prev_hash TEXT;
  v_prev_seq INTEGER;
  v_anchor export_audit_anchors%ROWTYPE;
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
      SELECT * INTO v_anchor FROM export_audit_anchors a WHERE a.export_id = r.export_id;
      IF v_anchor.export_id IS NULL THEN
        IF r.seq <> 1 OR r.prev_hash IS NOT NULL THEN
          export_id := r.export_id; seq := r.seq;
          problem := format('removed: events 1 to %s are missing and no purge anchors them', r.seq - 1);
          RETURN NEXT;
        END IF;
      ELSIF r.seq <> v_anchor.up_to_seq + 1 OR r.prev_hash IS DISTINCT FROM v_anchor.hash THEN
        export_id := r.export_id; seq := r.seq;
        problem := format('chain broken: the first event does not follow the purge anchor at %s',
                          v_anchor.up_to_seq);
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
  -- Each head against what remains: its last event, or the anchor of a
  -- chain purged whole.
  FOR h IN
    SELECT hd.export_id, hd.last_seq, hd.last_hash,
           (SELECT max(e.seq) FROM export_audit_events e WHERE e.export_id = hd.export_id) AS last_seq_left,
           (SELECT e.hash FROM export_audit_events e WHERE e.export_id = hd.export_id
             ORDER BY e.seq DESC LIMIT 1) AS last_hash_left,
           an.up_to_seq, an.hash AS anchor_hash
    FROM export_audit_heads hd LEFT JOIN export_audit_anchors an ON an.export_id = hd.export_id
    WHERE p_export IS NULL OR hd.export_id = p_export
  LOOP
    IF h.last_seq_left IS NULL THEN
      IF h.up_to_seq IS DISTINCT FROM h.last_seq OR h.anchor_hash IS DISTINCT FROM h.last_hash THEN
        export_id := h.export_id; seq := h.last_seq;
        problem := format('removed: all %s events of the export are missing', h.last_seq);
        RETURN NEXT;
      END IF;
    ELSIF h.last_seq_left <> h.last_seq OR h.last_hash_left IS DISTINCT FROM h.last_hash THEN
      export_id := h.export_id; seq := h.last_seq;
      problem := format('removed: events %s to %s at the end are missing', h.last_seq_left + 1, h.last_seq);
      RETURN NEXT;
    END IF;
  END LOOP;
  -- Events without a head were written with the triggers off.
  FOR r IN
    SELECT DISTINCT e.export_id FROM export_audit_events e
    WHERE (p_export IS NULL OR e.export_id = p_export)
      AND NOT EXISTS (SELECT 1 FROM export_audit_heads hd WHERE hd.export_id = e.export_id)
  LOOP
    export_id := r.export_id; seq := NULL; problem := 'forged: events without a chain head';
    RETURN NEXT;
  END LOOP;
END
$$;

-- 3. Grants: revoke everything from PUBLIC, anon and authenticated on every
-- object of the library, then grant the reads of the model.
DO $$
DECLARE
  t TEXT;
  f REGPROCEDURE;
BEGIN
  FOREACH t IN ARRAY ARRAY['conversations', 'conversation_turns', 'export_logs',
    'export_audit_events', 'export_jobs', 'export_audit_heads', 'export_audit_anchors',
    'lora_export_migrations', 'export_audit_events_id_seq'] LOOP
    EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, anon, authenticated', t);
  END LOOP;
  FOR f IN
    SELECT p.oid::regprocedure FROM pg_proc p
    WHERE p.pronamespace = '@schema@'::regnamespace AND p.proname IN ('export_rate_limit_wait', 'export_audit_event_hash',
      'export_audit_events_chain', 'export_audit_events_guard', 'export_audit_events_no_truncate',
      'export_audit_verify', 'export_audit_purge')
  LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, authenticated', f);
  END LOOP;
END
$$;

GRANT SELECT ON conversations, conversation_turns, export_logs, export_audit_events TO authenticated;
-- service_role (Supabase's server key) reads everything and maintains the
-- conversations; the export state is the service's alone.
REVOKE ALL ON export_logs, export_audit_events, export_jobs, export_audit_heads,
  export_audit_anchors, lora_export_migrations FROM service_role;
GRANT SELECT ON export_logs, export_audit_events, export_jobs, export_audit_heads,
  export_audit_anchors TO service_role;
GRANT EXECUTE ON FUNCTION export_audit_verify(UUID) TO service_role;
