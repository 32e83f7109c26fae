-- The record model of 2026 (issue 36) in the library's own tables. A turn
-- may carry the tool calls of an assistant message (a JSON list, as the
-- core reads `tool_calls`), the call a `tool` message answers, a
-- participant's or tool's name, the model's reasoning, a training weight
-- (0 or 1: a reviewer's per-turn rejection is `weight = 0`) and its content
-- as a list of parts (then `content` holds the text parts joined); a
-- conversation the function definitions it offers (`tools`, a JSON list).
-- All nullable: NULL is "not given", and a turn without them is read as
-- before. Their values are checked by the core's readers when an export
-- reads them (a stored row they refuse is reported as a skipped record).
ALTER TABLE @schema@.conversation_turns
  ADD COLUMN IF NOT EXISTS tool_calls JSONB,
  ADD COLUMN IF NOT EXISTS tool_call_id TEXT,
  ADD COLUMN IF NOT EXISTS name TEXT,
  ADD COLUMN IF NOT EXISTS reasoning TEXT,
  ADD COLUMN IF NOT EXISTS weight SMALLINT CHECK (weight IN (0, 1)),
  ADD COLUMN IF NOT EXISTS parts JSONB;
ALTER TABLE @schema@.conversations ADD COLUMN IF NOT EXISTS tools JSONB;

-- The roles of the model: OpenAI's `developer` and tool answers beside
-- system, user and assistant (the constraint of migration 2, widened).
ALTER TABLE @schema@.conversation_turns DROP CONSTRAINT IF EXISTS conversation_turns_role_check;
ALTER TABLE @schema@.conversation_turns ADD CONSTRAINT conversation_turns_role_check
  CHECK (role IN ('system', 'developer', 'user', 'assistant', 'tool'));
