-- Files outlive their log only until the next cleanup. Deleting a user from
-- `auth.users` deletes their logs (`export_logs.user_id` cascades), and the
-- sweep of `cleanup_expired` walks logs: their files stayed in the store
-- forever. Now every log deleted while its files are not recorded as removed
-- (the cascade, or a DELETE by hand; the retention purge deletes only logs
-- whose files are gone) leaves its row here, and `cleanup_expired` removes
-- the files it names (derived from the owner, id, format and manifest, as
-- for a live log) and then the row.
CREATE TABLE IF NOT EXISTS @schema@.export_file_removals (
  export_id UUID PRIMARY KEY,
  log JSONB NOT NULL,
  queued_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
COMMENT ON TABLE @schema@.export_file_removals IS
  'lora-export: files of deleted export logs, removed by cleanup_expired';
ALTER TABLE @schema@.export_file_removals ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON @schema@.export_file_removals FROM PUBLIC, anon, authenticated;

-- Runs as its owner so that a cascade from `auth.users`, run as whoever
-- deletes the user, may queue; it writes this table only.
CREATE OR REPLACE FUNCTION @schema@.export_file_removal_queue() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO @schema@.export_file_removals (export_id, log)
  VALUES (OLD.export_id, to_jsonb(OLD))
  ON CONFLICT (export_id) DO NOTHING;
  RETURN OLD;
END
$$;
REVOKE ALL ON FUNCTION @schema@.export_file_removal_queue() FROM PUBLIC, anon, authenticated;
DROP TRIGGER IF EXISTS export_file_removal_queue ON @schema@.export_logs;
CREATE TRIGGER export_file_removal_queue AFTER DELETE ON @schema@.export_logs
  FOR EACH ROW WHEN (OLD.file_deleted_at IS NULL)
  EXECUTE FUNCTION @schema@.export_file_removal_queue();

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lora_export_service') THEN
    GRANT SELECT, DELETE ON @schema@.export_file_removals TO lora_export_service;
    DROP POLICY IF EXISTS "lora-export service" ON @schema@.export_file_removals;
    CREATE POLICY "lora-export service" ON @schema@.export_file_removals
      FOR ALL TO lora_export_service USING (true);
  END IF;
END
$$;
