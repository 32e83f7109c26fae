-- Upgrades leave nothing behind (issue 33). A database migrated before the
-- library had its own schema kept migration 6's job functions in public
-- (SECURITY DEFINER, search_path = public, EXECUTE granted to
-- authenticated): relocate_from_public.sql does not move them and
-- migration 7, run in this schema, did not find them. They go, and every
-- function of the library's schema is again the owner's alone, whatever
-- default privileges granted on it (export_audit_verify stays
-- service_role's, as migration 7 grants it).
DO $$
DECLARE
  f REGPROCEDURE;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace AND p.prosecdef
      AND p.proname IN ('export_job_enqueue', 'export_job_cancel', 'export_job_progress')
      AND p.prosrc LIKE '%export_jobs%'
  LOOP
    EXECUTE format('DROP FUNCTION %s', f);
  END LOOP;
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p WHERE p.pronamespace = '@schema@'::regnamespace
  LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, authenticated', f);
  END LOOP;
END
$$;
