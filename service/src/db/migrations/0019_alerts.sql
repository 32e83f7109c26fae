-- Alerts of the scheduled maintenance (`ops/alerts.rs`): one row per alert
-- kind holds its current incident. An incident opens when the alert fires
-- and no incident of its kind is open (one insert-or-update: of several
-- instances evaluating at once, one opens it); it is delivered once (the
-- instance that claims `delivering_at` posts it; a claim older than five
-- minutes may be taken over), and resolved when the alert no longer fires,
-- after which a new incident of the kind can open.
CREATE TABLE IF NOT EXISTS @schema@.export_alerts (
  kind TEXT PRIMARY KEY,
  incident_id UUID NOT NULL,
  fired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  detail JSONB NOT NULL,
  delivering_at TIMESTAMPTZ,
  delivered_at TIMESTAMPTZ,
  resolved_at TIMESTAMPTZ
);
COMMENT ON TABLE @schema@.export_alerts IS
  'lora-export: the open or last incident of each alert, delivered once';
ALTER TABLE @schema@.export_alerts ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON @schema@.export_alerts FROM PUBLIC, anon, authenticated;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lora_export_service') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON @schema@.export_alerts TO lora_export_service;
    DROP POLICY IF EXISTS "lora-export service" ON @schema@.export_alerts;
    CREATE POLICY "lora-export service" ON @schema@.export_alerts
      FOR ALL TO lora_export_service USING (true) WITH CHECK (true);
  END IF;
END
$$;
