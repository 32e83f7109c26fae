-- A job keeps the relations its export was requested from (the service's
-- source tables at create time, `SourceTables::names`). A worker configured
-- with other ones (a standalone worker without the app's
-- LORA_EXPORT_CONVERSATIONS_TABLE / _TURNS_TABLE) read the library's own
-- tables and completed a 630-conversation request with an empty file; now
-- it refuses the attempt, naming both, and the job is retried (by a worker
-- that reads the same relations) until its attempts are spent. NULL: a job
-- queued before this migration, run as before.
ALTER TABLE @schema@.export_jobs ADD COLUMN IF NOT EXISTS source TEXT;
