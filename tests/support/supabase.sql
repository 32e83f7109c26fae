-- A database shaped as Supabase ships one, for the tests that run as its app
-- login. Facts from supabase/postgres (migrations/db: init-scripts,
-- 10000000000000_demote-postgres, 20211115181400_update-auth-permissions,
-- 20230529180330_alter_api_roles_for_inherit, 20250421084701_revoke_admin_roles_from_postgres,
-- 20250605172253_grant_with_admin_to_postgres_16_and_above) and supabase/auth
-- (20240612123726_enable_rls_update_grants, 20240624145325_recreate_auth_functions):
-- - the API roles `anon`, `authenticated`, `service_role` (NOLOGIN);
-- - `auth` belongs to someone else (here `supabase_auth_admin`; on Supabase the
--   schema is `supabase_admin`'s and its objects `supabase_auth_admin`'s), with
--   `auth.users` (row-level security on, no policy) and `auth.uid()`,
--   `auth.role()`, `auth.email()`, `auth.jwt()` reading the request's claims;
-- - the app's login `app_owner` (Supabase's `postgres`): NOT a superuser, with
--   CREATEDB CREATEROLE REPLICATION BYPASSRLS, the three API roles WITH ADMIN
--   OPTION, all privileges on the database, USAGE (not CREATE) on `auth`, all
--   privileges on `auth`'s tables and routines (SELECT on `auth.users` WITH
--   GRANT OPTION), and no membership in `supabase_auth_admin`;
-- - `public`'s default privileges grant everything to the API roles.
-- Applied by tests/support/pg.rs (`supabase_database`) as the cluster's
-- superuser, who plays `supabase_admin`, to a new database. Roles are
-- cluster-wide: created when missing (other test processes may create the API
-- roles at the same moment, through migrate's stand-ins).

DO $$
DECLARE
  r TEXT;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role', 'supabase_auth_admin', 'app_owner'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END;
    END IF;
  END LOOP;
  -- Only when they differ: concurrent ALTERs of one role conflict.
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname IN ('anon', 'authenticated') AND NOT rolinherit) THEN
    ALTER ROLE anon NOLOGIN INHERIT;
    ALTER ROLE authenticated NOLOGIN INHERIT;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role' AND NOT (rolinherit AND rolbypassrls)) THEN
    ALTER ROLE service_role NOLOGIN INHERIT BYPASSRLS;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supabase_auth_admin' AND NOT rolcanlogin) THEN
    ALTER ROLE supabase_auth_admin LOGIN NOINHERIT NOREPLICATION;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_owner' AND NOT rolcanlogin) THEN
    ALTER ROLE app_owner LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                 JOIN pg_roles u ON u.oid = m.member
                 WHERE u.rolname = 'app_owner' AND g.rolname = 'service_role' AND m.admin_option) THEN
    GRANT anon, authenticated, service_role TO app_owner WITH ADMIN OPTION;
  END IF;
END
$$;

DO $$
BEGIN
  EXECUTE format('GRANT ALL ON DATABASE %I TO app_owner', current_database());
END
$$;

CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
SET ROLE supabase_auth_admin;

CREATE TABLE auth.users (
  instance_id UUID,
  id UUID NOT NULL PRIMARY KEY,
  aud VARCHAR(255),
  role VARCHAR(255),
  email VARCHAR(255),
  encrypted_password VARCHAR(255),
  email_confirmed_at TIMESTAMPTZ,
  invited_at TIMESTAMPTZ,
  confirmation_token VARCHAR(255),
  confirmation_sent_at TIMESTAMPTZ,
  recovery_token VARCHAR(255),
  recovery_sent_at TIMESTAMPTZ,
  last_sign_in_at TIMESTAMPTZ,
  raw_app_meta_data JSONB,
  raw_user_meta_data JSONB,
  is_super_admin BOOLEAN,
  created_at TIMESTAMPTZ,
  updated_at TIMESTAMPTZ,
  phone TEXT UNIQUE DEFAULT NULL,
  phone_confirmed_at TIMESTAMPTZ,
  banned_until TIMESTAMPTZ,
  deleted_at TIMESTAMPTZ,
  is_sso_user BOOLEAN NOT NULL DEFAULT false,
  is_anonymous BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX users_instance_id_idx ON auth.users (instance_id);
CREATE UNIQUE INDEX users_email_partial_key ON auth.users (email) WHERE is_sso_user = false;
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION auth.uid() RETURNS UUID LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
CREATE FUNCTION auth.role() RETURNS TEXT LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
CREATE FUNCTION auth.email() RETURNS TEXT LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;
CREATE FUNCTION auth.jwt() RETURNS JSONB LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role, app_owner;
GRANT ALL ON ALL TABLES IN SCHEMA auth TO app_owner;
GRANT ALL ON ALL SEQUENCES IN SCHEMA auth TO app_owner;
GRANT ALL ON ALL ROUTINES IN SCHEMA auth TO app_owner;
GRANT SELECT ON auth.users TO app_owner WITH GRANT OPTION;
ALTER DEFAULT PRIVILEGES IN SCHEMA auth GRANT ALL ON TABLES TO app_owner;
ALTER DEFAULT PRIVILEGES IN SCHEMA auth GRANT ALL ON SEQUENCES TO app_owner;
ALTER DEFAULT PRIVILEGES IN SCHEMA auth GRANT ALL ON ROUTINES TO app_owner;
RESET ROLE;

GRANT ALL ON SCHEMA public TO app_owner;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO app_owner, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO app_owner, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO app_owner, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
