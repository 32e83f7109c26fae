-- export_logs exactly as in seed 003 (gen_random_uuid() stands in for
-- uuid_generate_v4(): same UUID v4, no extension needed), plus
-- file_sha256, download_count, last_downloaded_at and deleted_at.
CREATE TABLE IF NOT EXISTS export_logs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  export_id UUID UNIQUE NOT NULL DEFAULT gen_random_uuid(),
  user_id UUID NOT NULL,
  timestamp TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  format TEXT NOT NULL CHECK (format IN ('json', 'jsonl', 'csv', 'markdown')),
  config JSONB NOT NULL,
  conversation_count INTEGER NOT NULL,
  file_size BIGINT,
  status TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed', 'expired')),
  file_url TEXT,
  expires_at TIMESTAMPTZ,
  error_message TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  file_sha256 TEXT,
  download_count INTEGER NOT NULL DEFAULT 0,
  last_downloaded_at TIMESTAMPTZ,
  deleted_at TIMESTAMPTZ
);

CREATE INDEX IF NOT EXISTS idx_export_logs_user_id ON export_logs(user_id);
CREATE INDEX IF NOT EXISTS idx_export_logs_timestamp ON export_logs(timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_export_logs_status ON export_logs(status);
CREATE INDEX IF NOT EXISTS idx_export_logs_format ON export_logs(format);
CREATE INDEX IF NOT EXISTS idx_export_logs_expires_at ON export_logs(expires_at) WHERE status = 'completed';
CREATE INDEX IF NOT EXISTS idx_export_logs_user_created ON export_logs(user_id, created_at DESC);

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'fk_export_logs_user'
                 AND conrelid = 'export_logs'::regclass) THEN
    ALTER TABLE export_logs
      ADD CONSTRAINT fk_export_logs_user
      FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE;
  END IF;
END
$$;

ALTER TABLE export_logs ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS "Users can view own export logs" ON export_logs;
CREATE POLICY "Users can view own export logs"
  ON export_logs FOR SELECT
  USING (auth.uid() = user_id);

DROP POLICY IF EXISTS "Users can create own export logs" ON export_logs;
CREATE POLICY "Users can create own export logs"
  ON export_logs FOR INSERT
  WITH CHECK (auth.uid() = user_id);

DROP POLICY IF EXISTS "Users can update own export logs" ON export_logs;
CREATE POLICY "Users can update own export logs"
  ON export_logs FOR UPDATE
  USING (auth.uid() = user_id);

GRANT SELECT, INSERT, UPDATE ON export_logs TO authenticated;
GRANT ALL ON export_logs TO service_role;

COMMENT ON TABLE export_logs IS 'Audit trail for all export operations with user attribution and filter state';
COMMENT ON COLUMN export_logs.config IS 'JSONB storing ExportConfig: scope, format, includeMetadata, etc.';
COMMENT ON COLUMN export_logs.status IS 'Export lifecycle: queued → processing → completed/failed/expired';

-- The rate limit, in the database so that it holds across processes and
-- under concurrent requests: a per-user advisory lock serialises the check
-- and the insert that follows in the same transaction. Returns 0 when a
-- request is allowed, else the seconds until one would be.
CREATE OR REPLACE FUNCTION export_rate_limit_wait(p_user UUID, p_limit INTEGER, p_window INTERVAL)
RETURNS INTEGER LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_count INTEGER;
  v_oldest TIMESTAMPTZ;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('lora_export.rate:' || p_user::text, 0));
  SELECT count(*), min(created_at) INTO v_count, v_oldest
  FROM (
    SELECT created_at FROM export_logs
    WHERE user_id = p_user AND created_at > clock_timestamp() - p_window
    ORDER BY created_at DESC
    LIMIT p_limit
  ) recent;
  IF v_count < p_limit THEN
    RETURN 0;
  END IF;
  RETURN GREATEST(1, CEIL(EXTRACT(EPOCH FROM (v_oldest + p_window - clock_timestamp())))::INTEGER);
END
$$;
GRANT EXECUTE ON FUNCTION export_rate_limit_wait(UUID, INTEGER, INTERVAL) TO authenticated, service_role;
