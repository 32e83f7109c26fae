-- A dataset export (a request with `dataset`) has several files: its
-- manifest lists each one (name, storage object, split, conversations,
-- bytes, SHA-256), in the order the dataset card names them. NULL for a
-- single-file export. Readable by the owner under the existing policy;
-- written only by the service, like every other column.
ALTER TABLE export_logs ADD COLUMN IF NOT EXISTS files JSONB;
COMMENT ON COLUMN export_logs.files IS
  'lora-export: the files of a dataset export, [{name, object, split, conversations, bytes, sha256}]';
