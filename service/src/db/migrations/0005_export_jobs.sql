-- The background job queue (the seeds' batch_jobs for exports). Workers claim
-- with FOR UPDATE SKIP LOCKED; a running job whose heartbeat is stale is
-- rescued by another worker. Only the service role touches it.
CREATE TABLE IF NOT EXISTS export_jobs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  export_id UUID UNIQUE NOT NULL REFERENCES export_logs(export_id) ON DELETE CASCADE,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  total_items INTEGER NOT NULL DEFAULT 0,
  processed_items INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3,
  run_after TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  heartbeat_at TIMESTAMPTZ,
  locked_by TEXT,
  last_error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_export_jobs_claim ON export_jobs (run_after) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS idx_export_jobs_heartbeat ON export_jobs (heartbeat_at) WHERE status = 'running';
ALTER TABLE export_jobs ENABLE ROW LEVEL SECURITY;
GRANT ALL ON export_jobs TO service_role;
