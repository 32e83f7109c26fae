-- The service may connect as a login that does not own these objects
-- (issue 33): the owner (the role that migrates) keeps DDL, the triggers'
-- and the audit purge's rights; `lora_export_service`, a NOLOGIN group role,
-- holds exactly what the service does at run time. An app creates its
-- service login as a member of it and of `authenticated` (to read as the
-- user):
--   CREATE ROLE lora_export_app LOGIN PASSWORD '…' IN ROLE lora_export_service, authenticated;
-- Inside a user transaction, RESET ROLE then gives that login's rights, not
-- the owner's. The group role is created when missing and the migrating
-- role may create roles; else an administrator creates it and these grants
-- are skipped (run `GRANT lora_export_service …` by hand: see the README).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lora_export_service') THEN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user
                   AND (rolsuper OR rolcreaterole)) THEN
      RAISE NOTICE 'lora_export_service is missing and % may not create it: the service must connect as the owner', current_user;
      RETURN;
    END IF;
    -- Roles are cluster-wide: another database's migration may create it
    -- at the same moment (a unique_violation then, not a duplicate_object).
    BEGIN
      CREATE ROLE lora_export_service NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  GRANT USAGE ON SCHEMA @schema@ TO lora_export_service;
  GRANT SELECT, INSERT, UPDATE, DELETE ON @schema@.conversations, @schema@.conversation_turns,
    @schema@.export_logs, @schema@.export_jobs, @schema@.export_schedule_runs TO lora_export_service;
  GRANT SELECT, INSERT ON @schema@.export_audit_events, @schema@.export_audit_seals
    TO lora_export_service;
  GRANT USAGE ON SEQUENCE @schema@.export_audit_events_id_seq TO lora_export_service;
  GRANT SELECT ON @schema@.export_audit_heads, @schema@.export_audit_anchors,
    @schema@.lora_export_migrations TO lora_export_service;
  GRANT EXECUTE ON FUNCTION @schema@.export_rate_limit_wait(UUID, INTEGER, INTERVAL),
    @schema@.export_audit_verify(UUID), @schema@.export_audit_purge(INTEGER),
    @schema@.export_audit_event_hash(TEXT, UUID, UUID, INTEGER, TEXT, JSONB, TIMESTAMPTZ)
    TO lora_export_service;
  -- Row-level security applies to a login that does not own the tables:
  -- the service sees every row, as the owner did.
  DROP POLICY IF EXISTS "lora-export service" ON @schema@.conversations;
  CREATE POLICY "lora-export service" ON @schema@.conversations
    TO lora_export_service USING (true) WITH CHECK (true);
  DROP POLICY IF EXISTS "lora-export service" ON @schema@.conversation_turns;
  CREATE POLICY "lora-export service" ON @schema@.conversation_turns
    TO lora_export_service USING (true) WITH CHECK (true);
  DROP POLICY IF EXISTS "lora-export service" ON @schema@.export_logs;
  CREATE POLICY "lora-export service" ON @schema@.export_logs
    TO lora_export_service USING (true) WITH CHECK (true);
  DROP POLICY IF EXISTS "lora-export service" ON @schema@.export_jobs;
  CREATE POLICY "lora-export service" ON @schema@.export_jobs
    TO lora_export_service USING (true) WITH CHECK (true);
  DROP POLICY IF EXISTS "lora-export service" ON @schema@.export_schedule_runs;
  CREATE POLICY "lora-export service" ON @schema@.export_schedule_runs
    TO lora_export_service USING (true) WITH CHECK (true);
  DROP POLICY IF EXISTS "lora-export service" ON @schema@.export_audit_events;
  CREATE POLICY "lora-export service" ON @schema@.export_audit_events
    TO lora_export_service USING (true) WITH CHECK (true);
  DROP POLICY IF EXISTS "lora-export service" ON @schema@.export_audit_seals;
  CREATE POLICY "lora-export service" ON @schema@.export_audit_seals
    TO lora_export_service USING (true) WITH CHECK (true);
  DROP POLICY IF EXISTS "lora-export service" ON @schema@.export_audit_heads;
  CREATE POLICY "lora-export service" ON @schema@.export_audit_heads
    FOR SELECT TO lora_export_service USING (true);
  DROP POLICY IF EXISTS "lora-export service" ON @schema@.export_audit_anchors;
  CREATE POLICY "lora-export service" ON @schema@.export_audit_anchors
    FOR SELECT TO lora_export_service USING (true);
  DROP POLICY IF EXISTS "lora-export service" ON @schema@.lora_export_migrations;
  CREATE POLICY "lora-export service" ON @schema@.lora_export_migrations
    FOR SELECT TO lora_export_service USING (true);
END
$$;
