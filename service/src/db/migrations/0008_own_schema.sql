-- The library's objects live in a schema of their own (lora_export by
-- default), beside the app's public schema and outside what PostgREST
-- exposes unless a project adds it. `authenticated` and `service_role` may
-- look up the objects whose grants (migration 7) let them read; nobody but
-- the owner may create anything in it.
REVOKE ALL ON SCHEMA @schema@ FROM PUBLIC;
GRANT USAGE ON SCHEMA @schema@ TO authenticated, service_role;
COMMENT ON SCHEMA @schema@ IS 'lora-export: export logs, audit trail, job queue and the imported conversations';

-- Every function of the library finds its tables in this schema whoever
-- calls it, whatever the caller's search_path (pg_temp last, so a
-- temporary table cannot stand in for one of them).
DO $$
DECLARE
  f REGPROCEDURE;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p WHERE p.pronamespace = '@schema@'::regnamespace
  LOOP
    EXECUTE format('ALTER FUNCTION %s SET search_path = @schema@, pg_temp', f);
  END LOOP;
END
$$;
