-- What the library's policies, keys and reads refer to and Supabase
-- provides: the roles `anon`, `authenticated` and `service_role`, and in the
-- schema `auth` `auth.users`, `auth.uid()` and `auth.jwt()`. On Supabase
-- `auth` is another role's and the app's login may not create there, so the
-- catalog is read first and nothing is created (nor any statement on `auth`
-- run) when they exist. On plain PostgreSQL, minimal stand-ins are created
-- only when asked: `lora_export.supabase_stand_ins` is `on`, as `migrate()`
-- with the option `supabase_stand_ins` sets it for its transaction (for the
-- script of `migration_sql()`, `SET lora_export.supabase_stand_ins = on`
-- first). Else this stops, naming what is missing. Roles are cluster-wide:
-- another database's migration may create them at the same moment, hence
-- the duplicate_object handlers.
DO $$
DECLARE
  stand_ins BOOLEAN := coalesce(current_setting('lora_export.supabase_stand_ins', true), '') = 'on';
  missing TEXT[];
  role_name TEXT;
BEGIN
  SELECT coalesce(array_agg('role ' || r ORDER BY r), '{}') INTO missing
    FROM unnest(ARRAY['anon', 'authenticated', 'service_role']) AS r
   WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
  IF to_regnamespace('auth') IS NULL THEN
    missing := missing || ARRAY['schema auth', 'auth.users', 'auth.uid()', 'auth.jwt()'];
  ELSIF NOT has_schema_privilege('auth', 'USAGE') THEN
    RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
      MESSAGE = format('%s has no USAGE on the schema auth, which lora-export''s policies and reads use', current_user),
      HINT = 'Migrate as the project''s postgres login, which has it on Supabase.';
  ELSE
    IF to_regclass('auth.users') IS NULL THEN
      missing := missing || 'auth.users'::TEXT;
    ELSIF NOT (has_table_privilege('auth.users', 'SELECT')
               AND has_table_privilege('auth.users', 'REFERENCES')) THEN
      RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
        MESSAGE = format('%s lacks SELECT or REFERENCES on auth.users, which export_logs.user_id references', current_user),
        HINT = 'Migrate as the project''s postgres login, which has them on Supabase.';
    END IF;
    IF to_regprocedure('auth.uid()') IS NULL THEN
      missing := missing || 'auth.uid()'::TEXT;
    END IF;
    IF to_regprocedure('auth.jwt()') IS NULL THEN
      missing := missing || 'auth.jwt()'::TEXT;
    END IF;
  END IF;
  IF cardinality(missing) = 0 THEN
    RETURN;
  END IF;
  IF NOT stand_ins THEN
    RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
      MESSAGE = 'this database lacks what lora-export needs of Supabase: ' || array_to_string(missing, ', '),
      HINT = 'On Supabase they exist: check the database URL. On plain PostgreSQL (local development, '
        'tests), migrate with the Supabase stand-ins: migrate({ supabaseStandIns: true }) in Node, '
        'migrate(supabase_stand_ins=True) in Python, migrate_with(MigrateOptions { supabase_stand_ins: true }) '
        'in Rust, or SET lora_export.supabase_stand_ins = on before the script of migration_sql().';
  END IF;

  FOREACH role_name IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', role_name)
          || CASE role_name WHEN 'service_role' THEN ' BYPASSRLS' ELSE '' END;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END;
    END IF;
  END LOOP;
  CREATE SCHEMA IF NOT EXISTS auth;
  IF to_regclass('auth.users') IS NULL THEN
    CREATE TABLE auth.users (
      id UUID PRIMARY KEY,
      email TEXT,
      created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
    );
  END IF;
  -- auth.uid() and auth.jwt() exactly as Supabase defines them: the `sub`
  -- claim and the claims of the request's JWT.
  IF to_regprocedure('auth.uid()') IS NULL THEN
    CREATE FUNCTION auth.uid() RETURNS UUID LANGUAGE sql STABLE AS $body$
      SELECT COALESCE(
        NULLIF(current_setting('request.jwt.claim.sub', true), ''),
        (NULLIF(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $body$;
  END IF;
  IF to_regprocedure('auth.jwt()') IS NULL THEN
    CREATE FUNCTION auth.jwt() RETURNS JSONB LANGUAGE sql STABLE AS $body$
      SELECT COALESCE(
        NULLIF(current_setting('request.jwt.claim', true), ''),
        NULLIF(current_setting('request.jwt.claims', true), '')
      )::jsonb
    $body$;
  END IF;
  GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
END
$$;

-- The migrating login may act as a user (SET ROLE authenticated, Supabase's
-- own pattern) when it is the service's login too; on Supabase it already
-- is a member. Memberships are cluster-wide: the same login migrating
-- another database may grant it at the same moment (unique_violation).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_auth_members
                 WHERE roleid = 'authenticated'::regrole
                   AND member = (SELECT oid FROM pg_roles WHERE rolname = current_user)) THEN
    EXECUTE format('GRANT authenticated TO %I', current_user);
  END IF;
EXCEPTION
  WHEN unique_violation THEN NULL;
  WHEN insufficient_privilege THEN
    RAISE NOTICE '% may not grant itself the role authenticated: grant it to the service''s login', current_user;
END
$$;
