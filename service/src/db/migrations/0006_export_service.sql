-- What the export service needs on top of seed 003's export_logs: the full
-- validated request (config + ids + filters, so a worker can run it), the
-- download file name chosen at completion, and when the file was removed.
ALTER TABLE export_logs ADD COLUMN IF NOT EXISTS request JSONB;
ALTER TABLE export_logs ADD COLUMN IF NOT EXISTS file_name TEXT;
ALTER TABLE export_logs ADD COLUMN IF NOT EXISTS file_deleted_at TIMESTAMPTZ;
CREATE INDEX IF NOT EXISTS idx_export_logs_file_sweep ON export_logs (status)
  WHERE file_url IS NOT NULL AND file_deleted_at IS NULL;

-- Users have no access to export_jobs; these three functions are the only
-- ways a user's transaction touches the queue, each limited to the user's
-- own exports (auth.uid()).
CREATE OR REPLACE FUNCTION export_job_enqueue(p_export UUID, p_total INTEGER, p_max_attempts INTEGER)
RETURNS VOID LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM export_logs
                 WHERE export_id = p_export AND user_id = auth.uid() AND status = 'queued') THEN
    RAISE EXCEPTION 'export % is not a queued export of the current user', p_export
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO export_jobs (export_id, status, total_items, max_attempts)
  VALUES (p_export, 'queued', p_total, p_max_attempts);
END
$$;

CREATE OR REPLACE FUNCTION export_job_cancel(p_export UUID)
RETURNS BOOLEAN LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
BEGIN
  UPDATE export_jobs j SET status = 'cancelled', updated_at = NOW()
  FROM export_logs l
  WHERE j.export_id = p_export AND l.export_id = j.export_id AND l.user_id = auth.uid()
    AND j.status IN ('queued', 'running');
  RETURN FOUND;
END
$$;

CREATE OR REPLACE FUNCTION export_job_progress(p_export UUID)
RETURNS INTEGER LANGUAGE sql STABLE SECURITY DEFINER SET search_path = @schema@, pg_temp AS $$
  SELECT j.progress FROM export_jobs j JOIN export_logs l ON l.export_id = j.export_id
  WHERE j.export_id = p_export AND l.user_id = auth.uid()
$$;

REVOKE ALL ON FUNCTION export_job_enqueue(UUID, INTEGER, INTEGER) FROM PUBLIC;
REVOKE ALL ON FUNCTION export_job_cancel(UUID) FROM PUBLIC;
REVOKE ALL ON FUNCTION export_job_progress(UUID) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION export_job_enqueue(UUID, INTEGER, INTEGER) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION export_job_cancel(UUID) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION export_job_progress(UUID) TO authenticated, service_role;
