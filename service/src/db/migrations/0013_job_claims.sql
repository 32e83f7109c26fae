-- A queued export reads as its user with the claims the request was made
-- with (issue 33): the verified token's claims, as PostgREST sets them in
-- request.jwt.claims, so that the app's policies that read auth.jwt() decide
-- for a worker as they do for the app's API. Never the token itself (a
-- credential). NULL: requested by trusted code with a bare user id, or the
-- job has ended (completed, failed or cancelled: the claims go with it).
ALTER TABLE export_jobs ADD COLUMN IF NOT EXISTS claims JSONB;

-- auth.jwt() exactly as Supabase defines it, where it is missing (a local
-- database without Supabase): the request's JWT claims.
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'auth' AND p.proname = 'jwt'
  ) THEN
    EXECUTE $fn$
      CREATE FUNCTION auth.jwt() RETURNS JSONB LANGUAGE sql STABLE AS $body$
        SELECT COALESCE(
          NULLIF(current_setting('request.jwt.claim', true), ''),
          NULLIF(current_setting('request.jwt.claims', true), '')
        )::jsonb
      $body$
    $fn$;
  END IF;
END
$$;
