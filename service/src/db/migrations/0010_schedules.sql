-- The maintenance schedules (pg/ops/schedule.rs): one row per run of a task
-- for one fire time of its schedule. The key is the leader lock: of the
-- workers that see a period, the one whose insert lands runs it. Only the
-- service writes it; service_role may read it (operators' dashboards).
CREATE TABLE IF NOT EXISTS export_schedule_runs (
  task TEXT NOT NULL CHECK (task IN ('expire_exports', 'cleanup_files', 'purge_logs')),
  period_start TIMESTAMPTZ NOT NULL,
  worker_id TEXT NOT NULL,
  started_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  finished_at TIMESTAMPTZ,
  counts JSONB,
  error TEXT,
  PRIMARY KEY (task, period_start)
);
CREATE INDEX IF NOT EXISTS idx_export_schedule_runs_started ON export_schedule_runs (started_at);
ALTER TABLE export_schedule_runs ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON export_schedule_runs FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON export_schedule_runs TO service_role;

-- Workers LISTEN on "lora_export_jobs:<schema>" and wake when a job is
-- queued (created, or put back for a retry). PostgreSQL sends the
-- notification at commit, so the woken worker finds the job; a retry whose
-- backoff has not passed, and a dead worker's job, are found by the polling
-- that stays on as the fallback.
CREATE OR REPLACE FUNCTION export_jobs_notify() RETURNS trigger
LANGUAGE plpgsql SET search_path = @schema@, pg_temp AS $$
BEGIN
  PERFORM pg_notify('lora_export_jobs:' || TG_TABLE_SCHEMA, NEW.id::text);
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION export_jobs_notify() FROM PUBLIC, anon, authenticated, service_role;
DROP TRIGGER IF EXISTS export_jobs_notify ON export_jobs;
CREATE TRIGGER export_jobs_notify AFTER INSERT OR UPDATE OF status ON export_jobs
  FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION export_jobs_notify();
