-- The platform's conversations and their normalized turns (snake_case
-- columns matching the model). Reviewers share one workspace: every
-- authenticated user may read every conversation; writes go through the
-- service role (the importer).
CREATE TABLE IF NOT EXISTS conversations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id TEXT UNIQUE NOT NULL,
  title TEXT NOT NULL,
  category TEXT[] NOT NULL DEFAULT '{}',
  status TEXT NOT NULL CHECK (status IN ('draft', 'generated', 'pending_review', 'approved', 'rejected', 'needs_revision', 'failed')),
  quality_score DOUBLE PRECISION NOT NULL CHECK (quality_score >= 0 AND quality_score <= 10),
  persona TEXT,
  emotion TEXT,
  topic TEXT,
  tier TEXT NOT NULL CHECK (tier IN ('template', 'scenario', 'edge_case')),
  total_turns INTEGER NOT NULL DEFAULT 0,
  token_count BIGINT NOT NULL DEFAULT 0,
  parent_id TEXT,
  parent_type TEXT CHECK (parent_type IN ('template', 'scenario')),
  parameters JSONB NOT NULL DEFAULT '{}',
  review_history JSONB NOT NULL DEFAULT '[]',
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE IF NOT EXISTS conversation_turns (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  turn_number INTEGER NOT NULL CHECK (turn_number >= 1),
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
  content TEXT NOT NULL,
  token_count INTEGER,
  UNIQUE (conversation_id, turn_number)
);

-- Indexes the filters and the export's keyset order use.
CREATE INDEX IF NOT EXISTS idx_conversations_export_order ON conversations (created_at, id);
CREATE INDEX IF NOT EXISTS idx_conversations_status ON conversations (status);
CREATE INDEX IF NOT EXISTS idx_conversations_tier ON conversations (tier);
CREATE INDEX IF NOT EXISTS idx_conversations_quality ON conversations (quality_score);
CREATE INDEX IF NOT EXISTS idx_conversations_category ON conversations USING GIN (category);
CREATE INDEX IF NOT EXISTS idx_conversations_parent ON conversations (parent_id);
CREATE INDEX IF NOT EXISTS idx_conversations_persona ON conversations (persona);
CREATE INDEX IF NOT EXISTS idx_conversations_emotion ON conversations (emotion);
CREATE INDEX IF NOT EXISTS idx_conversations_topic ON conversations (topic);

ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversation_turns ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS "Authenticated users can read conversations" ON conversations;
CREATE POLICY "Authenticated users can read conversations"
  ON conversations FOR SELECT TO authenticated USING (true);
DROP POLICY IF EXISTS "Authenticated users can read turns" ON conversation_turns;
CREATE POLICY "Authenticated users can read turns"
  ON conversation_turns FOR SELECT TO authenticated USING (true);
GRANT SELECT ON conversations, conversation_turns TO authenticated;
GRANT ALL ON conversations, conversation_turns TO service_role;
