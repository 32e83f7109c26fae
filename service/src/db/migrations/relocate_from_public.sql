-- A database migrated by a lora-export without a schema of its own kept the
-- library's objects in public. They move here, with their data; indexes,
-- constraints, policies, triggers, grants and owned sequences move with
-- their tables. The functions move too (migration 8 sets their
-- search_path to this schema). Runs before the migrations, only when public holds the library's
-- migration records and this schema does not.
DO $relocate$
DECLARE
  t TEXT;
  f REGPROCEDURE;
BEGIN
  IF to_regclass('@schema@.lora_export_migrations') IS NOT NULL
     OR to_regclass('public.lora_export_migrations') IS NULL THEN
    RETURN;
  END IF;
  FOREACH t IN ARRAY ARRAY['lora_export_migrations', 'conversations', 'conversation_turns',
    'export_logs', 'export_audit_events', 'export_jobs', 'export_audit_heads',
    'export_audit_anchors'] LOOP
    IF to_regclass('public.' || t) IS NOT NULL THEN
      EXECUTE format('ALTER TABLE public.%I SET SCHEMA @schema@', t);
    END IF;
  END LOOP;
  FOR f IN
    SELECT p.oid::regprocedure FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace AND p.proname IN ('export_rate_limit_wait',
      'export_audit_event_hash', 'export_audit_events_chain', 'export_audit_events_guard',
      'export_audit_events_no_truncate', 'export_audit_verify', 'export_audit_purge')
  LOOP
    EXECUTE format('ALTER FUNCTION %s SET SCHEMA @schema@', f);
  END LOOP;
END
$relocate$;
