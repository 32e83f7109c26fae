-- A team's own tables as they are (issue 35): tests/pg_app_schema.rs creates
-- them, and benches/storage.sh fills them for the database benchmark.
CREATE TABLE public.chats (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner UUID NOT NULL,
  title TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'approved',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX chats_export_order ON public.chats (created_at, id);
CREATE TABLE public.chat_messages (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  chat_id BIGINT NOT NULL REFERENCES public.chats (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  role TEXT NOT NULL,
  body TEXT NOT NULL
);
ALTER TABLE public.chats ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.chat_messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY "own chats" ON public.chats FOR SELECT TO authenticated
  USING (owner = (SELECT auth.uid()));
CREATE POLICY "own messages" ON public.chat_messages FOR SELECT TO authenticated
  USING (EXISTS (SELECT 1 FROM public.chats c WHERE c.id = chat_id AND c.owner = (SELECT auth.uid())));
