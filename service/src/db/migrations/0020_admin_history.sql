-- The admin history (`ExportService::admin_history`) pages every user's
-- live exports newest first: an index in that order, so a page is read
-- from its start and not sorted from the whole table. One user's
-- (`?user=`) uses idx_export_logs_user_created.
CREATE INDEX IF NOT EXISTS idx_export_logs_created_live
  ON @schema@.export_logs (created_at DESC, export_id DESC) WHERE deleted_at IS NULL;
