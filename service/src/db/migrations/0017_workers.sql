-- Workers leave a trace while idle too: each pass of a worker's loop
-- records it here (`ops/worker.rs`), so that health, metrics
-- (`live_workers`) and the status warning see a worker waiting for jobs,
-- not only one running a job (whose job's heartbeat shows it). A worker that
-- stops cleanly removes its row; rows not seen for a day are removed by the
-- next beat of any worker.
CREATE TABLE IF NOT EXISTS @schema@.export_workers (
  worker_id TEXT PRIMARY KEY,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  seen_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
COMMENT ON TABLE @schema@.export_workers IS
  'lora-export: the workers seen, for health and metrics';
ALTER TABLE @schema@.export_workers ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON @schema@.export_workers FROM PUBLIC, anon, authenticated;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lora_export_service') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON @schema@.export_workers TO lora_export_service;
    DROP POLICY IF EXISTS "lora-export service" ON @schema@.export_workers;
    CREATE POLICY "lora-export service" ON @schema@.export_workers
      FOR ALL TO lora_export_service USING (true) WITH CHECK (true);
  END IF;
END
$$;
