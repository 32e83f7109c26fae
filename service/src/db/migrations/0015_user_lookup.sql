-- Whether a user exists, for the service's own check before it logs an
-- export. A service login that does not own the library's objects may not
-- read `auth.users` itself on Supabase: row-level security is on there with
-- no policy for it (and its login may not be granted USAGE on `auth` by a
-- migrating login that only has it). This runs as its owner, the migrating
-- login (Supabase's `postgres`, which bypasses row-level security), answers
-- yes or no for one id, and only `lora_export_service` may call it.
CREATE OR REPLACE FUNCTION @schema@.export_user_exists(p_user UUID) RETURNS BOOLEAN
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM auth.users WHERE id = p_user)
$$;
REVOKE ALL ON FUNCTION @schema@.export_user_exists(UUID) FROM PUBLIC, anon, authenticated;
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lora_export_service') THEN
    GRANT EXECUTE ON FUNCTION @schema@.export_user_exists(UUID) TO lora_export_service;
  END IF;
END
$$;
