-- Parquet joins the formats an export log records (`format: "parquet"`).
-- The check of 0003 was declared inline, so PostgreSQL named it
-- export_logs_format_check; it is replaced by one that also allows parquet.
ALTER TABLE @schema@.export_logs DROP CONSTRAINT IF EXISTS export_logs_format_check;
ALTER TABLE @schema@.export_logs ADD CONSTRAINT export_logs_format_check
  CHECK (format IN ('json', 'jsonl', 'csv', 'markdown', 'parquet'));
