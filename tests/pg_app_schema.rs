//! Living beside the app's schema, against a real PostgreSQL: the library's
//! objects go into a schema of their own (`lora_export`, or the one
//! configured), a database that already has its own `conversations` table
//! migrates without touching it, exports read the app's data through views
//! named in the config (under the app's own row-level security), and a
//! database of the earlier layout moves out of `public`.

#[path = "support/pg.rs"]
mod pg;

use std::sync::{Arc, Mutex};

use lora_export::pg::{CreateOutcome, ErrorReport, ExportService, ServiceConfig, MIGRATIONS};
use tokio::io::AsyncReadExt;
use tokio_postgres::Client;
use uuid::Uuid;

/// The version of the newest migration.
fn last_migration() -> i32 {
    MIGRATIONS.last().unwrap().0
}

/// The app's own schema, as a Supabase project has it before adopting the
/// library: its roles, a `conversations` table of another shape with its
/// own row-level security (reviewers see published chats only), and
/// Supabase's default privileges on `public`.
const APP_SCHEMA: &str = "
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN CREATE ROLE authenticated NOLOGIN; END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated;
CREATE TABLE public.conversations (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid UUID NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  slug TEXT NOT NULL UNIQUE,
  headline TEXT NOT NULL,
  state TEXT NOT NULL,
  published BOOLEAN NOT NULL DEFAULT true,
  score NUMERIC(3,1) NOT NULL,
  kind TEXT NOT NULL,
  messages JSONB NOT NULL,
  inserted_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE public.conversations ENABLE ROW LEVEL SECURITY;
CREATE POLICY \"reviewers read published chats\" ON public.conversations
  FOR SELECT TO authenticated USING (published);
REVOKE ALL ON public.conversations FROM anon;
INSERT INTO public.conversations (slug, headline, state, published, score, kind, messages) VALUES
  ('refund-1', 'Refund request', 'approved', true, 8.5, 'template',
   '[{\"role\":\"user\",\"text\":\"I want a refund\"},{\"role\":\"assistant\",\"text\":\"Sure, let me help.\"}]'),
  ('refund-2', 'Second refund', 'approved', true, 7.0, 'scenario',
   '[{\"role\":\"user\",\"text\":\"Again?\"},{\"role\":\"assistant\",\"text\":\"Yes, again.\"}]'),
  ('draft-1', 'A draft', 'draft', true, 5.0, 'template',
   '[{\"role\":\"user\",\"text\":\"hi\"},{\"role\":\"assistant\",\"text\":\"hello\"}]'),
  ('hidden-1', 'Unpublished', 'approved', false, 9.0, 'template',
   '[{\"role\":\"user\",\"text\":\"secret\"},{\"role\":\"assistant\",\"text\":\"hidden\"}]');
";

/// The column mapping of the README: two views onto the app's table, run
/// with the invoker's rights so that its row-level security applies.
const APP_VIEWS: &str = "
CREATE VIEW public.training_conversations WITH (security_invoker = true) AS
SELECT c.uid AS id, c.slug AS conversation_id, c.headline AS title, ARRAY[]::text[] AS category,
       c.state AS status, c.score::double precision AS quality_score,
       NULL::text AS persona, NULL::text AS emotion, NULL::text AS topic, c.kind AS tier,
       jsonb_array_length(c.messages) AS total_turns, 0::bigint AS token_count,
       NULL::text AS parent_id, NULL::text AS parent_type, '{}'::jsonb AS parameters,
       '[]'::jsonb AS review_history, c.inserted_at AS created_at, c.inserted_at AS updated_at
FROM public.conversations c;
CREATE VIEW public.training_turns WITH (security_invoker = true) AS
SELECT c.uid AS conversation_id, m.n::integer AS turn_number, m.value->>'role' AS role,
       m.value->>'text' AS content, NULL::integer AS token_count
FROM public.conversations c, jsonb_array_elements(c.messages) WITH ORDINALITY AS m(value, n);
GRANT SELECT ON public.training_conversations, public.training_turns TO authenticated;
";

async fn admin(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

/// The app table's grants, policies and row-level security flag.
async fn app_table_state(admin: &Client) -> String {
    admin
        .query_one(
            "SELECT concat_ws(' | ', c.relacl::text, c.relrowsecurity::text,
               (SELECT string_agg(policyname || ':' || qual, ',' ORDER BY policyname)
                  FROM pg_policies WHERE schemaname = 'public' AND tablename = 'conversations'),
               (SELECT string_agg(column_name || ' ' || data_type, ',' ORDER BY ordinal_position)
                  FROM information_schema.columns
                  WHERE table_schema = 'public' AND table_name = 'conversations'))
             FROM pg_class c WHERE c.oid = 'public.conversations'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

fn config(url: &str) -> ServiceConfig {
    let mut config = ServiceConfig::new(url);
    config.storage_root = std::env::temp_dir().join(format!("lora-export-app-{}", Uuid::new_v4()));
    config
}

/// Removes the files `service` stored, at the end of a test that exports.
fn remove_storage(service: &ExportService) {
    std::fs::remove_dir_all(&service.config().storage_root).unwrap();
}

async fn export_text(service: &ExportService, user: Uuid, scope: &str) -> (u64, String) {
    let body = serde_json::json!({ "config": { "scope": scope, "format": "jsonl" } });
    let export = match service.create_export(user, &body).await.unwrap() {
        CreateOutcome::Completed { export, .. } => export,
        other => panic!("a small export runs at once, got {other:?}"),
    };
    let mut download = service.open_download(user, export.export_id).await.unwrap();
    let mut text = String::new();
    download.file.read_to_string(&mut text).await.unwrap();
    (export.conversation_count, text)
}

/// Seen failing on the earlier main: `migrate()` stopped at `column
/// "status" does not exist` on the app's table and would have added a
/// read-everything policy to it.
#[tokio::test(flavor = "multi_thread")]
async fn an_apps_own_conversations_table_is_left_alone_and_exported_through_its_views() {
    let url = pg::empty_database().await;
    let admin = admin(&url).await;
    admin.batch_execute(APP_SCHEMA).await.unwrap();
    let before = app_table_state(&admin).await;

    let service = ExportService::connect(config(&url)).unwrap();
    assert_eq!(
        service.migrate_with(pg::STAND_INS).await.unwrap(),
        (1..=last_migration()).collect::<Vec<_>>()
    );
    assert_eq!(app_table_state(&admin).await, before, "the app's table is untouched");
    let own: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'lora_export'
               AND tablename IN ('conversations', 'conversation_turns', 'export_logs', 'export_jobs')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(own, 4, "the library's tables are in its own schema");

    admin.batch_execute(APP_VIEWS).await.unwrap();
    let mut app = config(&url);
    app.conversations_table = Some("public.training_conversations".into());
    app.turns_table = Some("public.training_turns".into());
    let service = ExportService::connect(app).unwrap();
    let user = pg::create_user(service.database()).await;

    let (count, text) = export_text(&service, user, "all").await;
    assert_eq!(count, 2, "approved and published: the app's RLS hides hidden-1");
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert!(text.contains("I want a refund") && text.contains("Yes, again."), "{text}");
    assert!(!text.contains("secret") && !text.contains("hello"), "{text}");
    let (count, text) = export_text(&service, user, "all_data").await;
    assert_eq!(count, 3, "every published chat, drafts included");
    assert!(text.contains("hello") && !text.contains("secret"), "{text}");
    assert_eq!(app_table_state(&admin).await, before, "still untouched after exports");
    remove_storage(&service);
}

/// A view that does not have the documented columns is named with every
/// problem before anything is counted or logged.
#[tokio::test(flavor = "multi_thread")]
async fn a_source_without_the_documented_columns_is_refused_with_each_problem() {
    let url = pg::empty_database().await;
    let admin = admin(&url).await;
    admin.batch_execute(APP_SCHEMA).await.unwrap();
    admin
        .batch_execute(
            "CREATE VIEW public.bad_conversations AS
               SELECT uid AS id, slug AS conversation_id, score AS quality_score FROM public.conversations;
             CREATE VIEW public.bad_turns AS SELECT uid AS conversation_id FROM public.conversations;
             REVOKE ALL ON public.bad_conversations FROM authenticated;",
        )
        .await
        .unwrap();
    let mut bad = config(&url);
    bad.conversations_table = Some("public.bad_conversations".into());
    bad.turns_table = Some("public.bad_turns".into());
    let reports = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&reports);
    let service =
        ExportService::connect(bad).unwrap().with_error_sink(Arc::new(move |r: &ErrorReport| {
            sink.lock().unwrap().push(format!("{r:?}"))
        }));
    service.migrate_with(pg::STAND_INS).await.unwrap();
    let user = pg::create_user(service.database()).await;
    let body = serde_json::json!({ "config": { "scope": "all", "format": "jsonl" } });
    let err = service.create_export(user, &body).await.unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("SOURCE_MISCONFIGURED", 500));
    assert!(!err.to_string().contains("bad_conversations"), "no schema detail for users: {err}");
    let Some(lora_export::ErrorKind::Internal { detail, .. }) = err.core_kind() else {
        panic!("{err:?}")
    };
    for problem in [
        "\"public\".\"bad_conversations\" has no column title (text)",
        "\"public\".\"bad_conversations\".quality_score is numeric, expected double precision",
        "\"public\".\"bad_conversations\" is not readable by authenticated",
        "\"public\".\"bad_turns\" has no column content (text)",
    ] {
        assert!(detail.contains(problem), "{problem} in {detail}");
    }
    assert!(reports.lock().unwrap().iter().any(|r| r.contains("SOURCE_MISCONFIGURED")));
    let logs: i64 =
        admin.query_one("SELECT count(*) FROM lora_export.export_logs", &[]).await.unwrap().get(0);
    assert_eq!(logs, 0, "nothing was logged");

    let mut missing = config(&url);
    missing.conversations_table = Some("public.nothing_here".into());
    missing.turns_table = Some("public.training_turns".into());
    let err = ExportService::connect(missing).unwrap().check_source().await.unwrap_err();
    let Some(lora_export::ErrorKind::Internal { detail, .. }) = err.core_kind() else {
        panic!("{err:?}")
    };
    assert!(detail.contains("\"public\".\"nothing_here\" does not exist"), "{detail}");
    assert!(detail.contains("\"public\".\"training_turns\" does not exist"), "{detail}");
}

/// A configured schema holds every object of the library; `lora_export`
/// and `public` stay empty, and the service works in it.
#[tokio::test(flavor = "multi_thread")]
async fn a_configured_schema_holds_everything() {
    let url = pg::empty_database().await;
    let admin = admin(&url).await;
    let mut config = config(&url);
    config.schema = "training_export".into();
    let service = ExportService::connect(config).unwrap();
    assert_eq!(service.migrate_with(pg::STAND_INS).await.unwrap().len(), MIGRATIONS.len());
    let sample =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/sample.jsonl")).unwrap();
    assert_eq!(service.import_conversations(&sample[..]).await.unwrap().imported, 46);
    let user = pg::create_user(service.database()).await;
    assert_eq!(export_text(&service, user, "all").await.0, 32);
    remove_storage(&service);
    let placed: Vec<i64> = admin
        .query_one(
            "SELECT ARRAY[
               (SELECT count(*) FROM pg_class WHERE relnamespace = 'training_export'::regnamespace AND relkind = 'r'),
               (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace),
               (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace),
               (SELECT count(*) FROM pg_namespace WHERE nspname = 'lora_export')]",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(placed, [13, 0, 0, 0], "tables in training_export; public and lora_export empty");
    let mut reserved = ServiceConfig::new(&url);
    reserved.schema = "public".into();
    assert_eq!(ExportService::connect(reserved).unwrap_err().code(), "CONFIG_ERROR");
}

/// A database migrated by the earlier library (everything in `public`)
/// moves into the library's schema on `migrate()`, with its data, and its
/// audit chains still verify.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_of_the_earlier_layout_moves_out_of_public() {
    let url = pg::empty_database().await;
    let admin = admin(&url).await;
    pg::apply_first_migrations(&admin, "public", 7).await;
    let user = Uuid::new_v4();
    admin.execute("INSERT INTO auth.users (id) VALUES ($1)", &[&user]).await.unwrap();
    let old: Uuid = admin
        .query_one(
            "INSERT INTO public.export_logs (user_id, format, config, conversation_count, status)
             VALUES ($1, 'jsonl', '{\"scope\":\"all\",\"format\":\"jsonl\"}', 1, 'failed')
             RETURNING export_id",
            &[&user],
        )
        .await
        .unwrap()
        .get(0);
    for event in ["requested", "failed"] {
        admin
            .execute(
                "INSERT INTO public.export_audit_events (export_id, user_id, event, seq, hash)
                 VALUES ($1, $2, $3, 0, '')",
                &[&old, &user, &event],
            )
            .await
            .unwrap();
    }

    let service = ExportService::connect(config(&url)).unwrap();
    assert_eq!(service.migrate().await.unwrap(), (8..=last_migration()).collect::<Vec<_>>());
    assert_eq!(pg::objects_in_public(&admin).await, 0, "nothing of the library is left in public");
    let problems =
        admin.query("SELECT * FROM lora_export.export_audit_verify(NULL)", &[]).await.unwrap();
    assert!(problems.is_empty(), "{} audit problems after the move", problems.len());
    let page = service.history(user, &Default::default()).await.unwrap();
    assert_eq!(page.items.iter().map(|i| i.log.export_id).collect::<Vec<_>>(), [old]);
    let sample =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/sample.jsonl")).unwrap();
    assert_eq!(service.import_conversations(&sample[..]).await.unwrap().imported, 46);
    assert_eq!(export_text(&service, user, "all").await.0, 32, "the moved schema works");
    assert_eq!(service.migrate().await.unwrap(), Vec::<i32>::new());
    remove_storage(&service);
}

/// The app's chats, each its owner's alone (row-level security on
/// `owner_id`), and three ways to read them: a plain view (runs as its
/// owner), a `security_invoker` view over that plain view, and a
/// `security_invoker` view over a copy without row-level security.
const OWNED_CHATS: &str = "
CREATE TABLE public.owned_chats (
  uid UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id UUID NOT NULL,
  slug TEXT NOT NULL,
  body TEXT NOT NULL,
  inserted_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE public.owned_chats ENABLE ROW LEVEL SECURITY;
CREATE POLICY \"owners read their chats\" ON public.owned_chats
  FOR SELECT TO authenticated USING (owner_id = auth.uid());
CREATE TABLE public.open_chats (LIKE public.owned_chats INCLUDING ALL);
CREATE VIEW public.plain_conversations AS
SELECT c.uid AS id, c.slug AS conversation_id, c.slug AS title, ARRAY[]::text[] AS category,
       'approved'::text AS status, 8.0::double precision AS quality_score,
       NULL::text AS persona, NULL::text AS emotion, NULL::text AS topic, 'template'::text AS tier,
       2 AS total_turns, 0::bigint AS token_count, NULL::text AS parent_id,
       NULL::text AS parent_type, '{}'::jsonb AS parameters, '[]'::jsonb AS review_history,
       c.inserted_at AS created_at, c.inserted_at AS updated_at
FROM public.owned_chats c;
CREATE VIEW public.plain_turns AS
SELECT c.uid AS conversation_id, t.n AS turn_number, t.role, t.content, NULL::integer AS token_count
FROM public.owned_chats c,
     LATERAL (VALUES (1, 'user', 'hello'), (2, 'assistant', c.body)) AS t(n, role, content);
CREATE VIEW public.nested_conversations WITH (security_invoker = true) AS
SELECT * FROM public.plain_conversations;
CREATE VIEW public.open_conversations WITH (security_invoker = true) AS
SELECT p.* FROM public.plain_conversations p WHERE false
UNION ALL
SELECT c.uid, c.slug, c.slug, ARRAY[]::text[], 'approved', 8.0, NULL, NULL, NULL, 'template',
       2, 0::bigint, NULL, NULL, '{}'::jsonb, '[]'::jsonb, c.inserted_at, c.inserted_at
FROM public.open_chats c;
GRANT SELECT ON public.owned_chats, public.open_chats, public.plain_conversations,
  public.plain_turns, public.nested_conversations, public.open_conversations TO authenticated;
";

/// Issue 33, finding 7, seen failing on main (6be8e19): with a plain view
/// as the source, user A's export held user B's chat too (`a plain view is
/// refused: Completed { … conversation_count: 2 … }`): the view runs
/// as its owner, whom the app's row-level security does not restrict. The
/// source check refuses such a view, a view over one, and a table without
/// row-level security, naming the statement that fixes each; fixed, A
/// exports A's chats only.
#[tokio::test(flavor = "multi_thread")]
async fn a_source_that_row_level_security_does_not_see_through_is_refused() {
    let url = pg::empty_database().await;
    let admin = admin(&url).await;
    ExportService::connect(config(&url)).unwrap().migrate_with(pg::STAND_INS).await.unwrap();
    admin.batch_execute(OWNED_CHATS).await.unwrap();
    let source = |conversations: &str, turns: &str| {
        let mut app = config(&url);
        app.conversations_table = Some(conversations.into());
        app.turns_table = Some(turns.into());
        ExportService::connect(app).unwrap()
    };
    let service = source("public.plain_conversations", "public.plain_turns");
    let (alice, bob) =
        (pg::create_user(service.database()).await, pg::create_user(service.database()).await);
    for (owner, slug, body) in [(alice, "alice-1", "alice's words"), (bob, "bob-1", "bob's secret")]
    {
        admin
            .execute(
                "INSERT INTO public.owned_chats (owner_id, slug, body) VALUES ($1, $2, $3)",
                &[&owner, &slug, &body],
            )
            .await
            .unwrap();
    }
    let body = serde_json::json!({ "config": { "scope": "all", "format": "jsonl" } });

    let err = service.create_export(alice, &body).await.expect_err("a plain view is refused");
    assert_eq!((err.code(), err.http_status()), ("SOURCE_MISCONFIGURED", 500));
    let Some(lora_export::ErrorKind::Internal { detail, .. }) = err.core_kind() else {
        panic!("{err:?}")
    };
    for fix in [
        "ALTER VIEW public.plain_conversations SET (security_invoker = true)",
        "ALTER VIEW public.plain_turns SET (security_invoker = true)",
    ] {
        assert!(detail.contains(fix), "{fix} in {detail}");
    }
    let err = source("public.nested_conversations", "public.plain_turns")
        .check_source()
        .await
        .expect_err("a view over a plain view is refused");
    let Some(lora_export::ErrorKind::Internal { detail, .. }) = err.core_kind() else {
        panic!("{err:?}")
    };
    assert!(
        detail.contains(
            "public.plain_conversations (read through public.nested_conversations) is a view"
        ),
        "{detail}"
    );
    let err = source("public.open_conversations", "public.plain_turns")
        .check_source()
        .await
        .expect_err("a table without row-level security is refused");
    let Some(lora_export::ErrorKind::Internal { detail, .. }) = err.core_kind() else {
        panic!("{err:?}")
    };
    assert!(detail.contains("ALTER TABLE public.open_chats ENABLE ROW LEVEL SECURITY"), "{detail}");
    let logs: i64 =
        admin.query_one("SELECT count(*) FROM lora_export.export_logs", &[]).await.unwrap().get(0);
    assert_eq!(logs, 0, "nothing was exported");

    admin
        .batch_execute(
            "ALTER VIEW public.plain_conversations SET (security_invoker = true);
             ALTER VIEW public.plain_turns SET (security_invoker = true);",
        )
        .await
        .unwrap();
    let service = source("public.nested_conversations", "public.plain_turns");
    let (count, text) = export_text(&service, alice, "all").await;
    assert_eq!(count, 1, "{text}");
    assert!(text.contains("alice's words") && !text.contains("bob's secret"), "{text}");
    remove_storage(&service);
}

/// The migrations as the library shipped them before migration 8 gave it
/// a schema of its own, all in `public`: migrations 1–7 from git at
/// f592b47 (1–5 are also what 3002e1c shipped, 1–6 what b233bde shipped).
/// Migrations 1–9 have not changed since ed37ea3, so the layouts of 8 and
/// 9 migrations are today's first 8 and 9.
const EARLIER_PUBLIC: [(i32, &str, &str); 7] = [
    (1, "supabase_standins", include_str!("earlier_layouts/public/0001_supabase_standins.sql")),
    (2, "conversations", include_str!("earlier_layouts/public/0002_conversations.sql")),
    (3, "export_logs", include_str!("earlier_layouts/public/0003_export_logs.sql")),
    (4, "audit_events", include_str!("earlier_layouts/public/0004_audit_events.sql")),
    (5, "export_jobs", include_str!("earlier_layouts/public/0005_export_jobs.sql")),
    (6, "export_service", include_str!("earlier_layouts/public/0006_export_service.sql")),
    (7, "privilege_model", include_str!("earlier_layouts/public/0007_privilege_model.sql")),
];

/// A database as Supabase makes one — `anon` and `authenticated`, and
/// default privileges that grant them everything created in `public` —
/// migrated by an earlier library: the first `count` migrations, in
/// `public` when `count` is at most 7 (as they were then), else in
/// `lora_export`.
async fn earlier_layout(count: usize) -> String {
    let url = pg::empty_database().await;
    let admin = admin(&url).await;
    admin
        .batch_execute(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN; END IF;
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN CREATE ROLE authenticated NOLOGIN; END IF;
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated;
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated;
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated;",
        )
        .await
        .unwrap();
    if count > EARLIER_PUBLIC.len() {
        pg::apply_first_migrations(&admin, "lora_export", count).await;
        return url;
    }
    admin
        .batch_execute(
            "CREATE TABLE public.lora_export_migrations (version INTEGER PRIMARY KEY,
               name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())",
        )
        .await
        .unwrap();
    for (version, name, sql) in &EARLIER_PUBLIC[..count] {
        admin.batch_execute(sql).await.unwrap();
        admin
            .execute("INSERT INTO public.lora_export_migrations VALUES ($1, $2)", &[version, name])
            .await
            .unwrap();
    }
    url
}

/// What `anon` and `authenticated` may do outside the privilege model (see
/// the `pg` module docs): execute any function outside Supabase's `auth`
/// and PostgreSQL's own schemas, or hold any privilege on a relation of
/// `public` or `lora_export` beyond `authenticated`'s SELECT on the four
/// tables it reads.
async fn outside_the_privilege_model(admin: &Client) -> Vec<String> {
    let rows = admin
        .query(
            "SELECT format('EXECUTE %s%s by %s', p.oid::regprocedure,
                      CASE WHEN p.prosecdef THEN ' (SECURITY DEFINER)' ELSE '' END, r.role)
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
                  (VALUES ('anon'), ('authenticated')) r(role)
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'auth')
               AND n.nspname NOT LIKE 'pg\\_%'
               AND has_function_privilege(r.role, p.oid, 'EXECUTE')
             UNION ALL
             SELECT format('%s on %s by %s', x.privilege, c.oid::regclass, r.role)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                  (VALUES ('anon'), ('authenticated')) r(role),
                  unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',
                               'TRIGGER', 'USAGE']) x(privilege)
             WHERE n.nspname IN ('public', 'lora_export') AND c.relkind IN ('r', 'v', 'm', 'S', 'p')
               AND CASE WHEN c.relkind = 'S' THEN x.privilege IN ('SELECT', 'UPDATE', 'USAGE')
                          AND has_sequence_privilege(r.role, c.oid, x.privilege)
                        WHEN x.privilege = 'USAGE' THEN false
                        ELSE has_table_privilege(r.role, c.oid, x.privilege) END
               AND NOT (r.role = 'authenticated' AND x.privilege = 'SELECT'
                        AND n.nspname = 'lora_export' AND c.relname IN
                          ('conversations', 'conversation_turns', 'export_logs', 'export_audit_events'))
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// Upgrades the layout of `count` earlier migrations with today's
/// `migrate()` and checks that nothing is left that `anon` or
/// `authenticated` may call or touch outside the privilege model, and
/// nothing of the library in `public`.
async fn upgrade_leaves_nothing_outside_the_model(count: usize) {
    let url = earlier_layout(count).await;
    let admin = admin(&url).await;
    let service = ExportService::connect(config(&url)).unwrap();
    let applied = service.migrate().await.unwrap();
    assert_eq!(applied.last().copied(), Some(last_migration()), "layout {count}: {applied:?}");
    let leaks = outside_the_privilege_model(&admin).await;
    assert!(leaks.is_empty(), "layout {count}, upgraded, still lets users: {leaks:#?}");
    assert_eq!(pg::objects_in_public(&admin).await, 0, "layout {count}: public is empty");
    let user = pg::create_user(service.database()).await;
    let history = service.history(user, &Default::default()).await.unwrap();
    assert!(history.items.is_empty(), "layout {count}: the upgraded service works");
}

/// Issue 33, finding 13, seen failing on main (6be8e19) for the layout of
/// 6 migrations: `layout 6, upgraded, still lets users: ["EXECUTE
/// export_job_cancel(uuid) (SECURITY DEFINER) by authenticated", …]` —
/// the three job functions of migration 6 stayed in `public`,
/// `search_path=public`, callable by any signed-in user.
#[tokio::test(flavor = "multi_thread")]
async fn upgrading_six_migrations_in_public_leaves_nothing_callable() {
    upgrade_leaves_nothing_outside_the_model(6).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrading_five_migrations_in_public_leaves_nothing_callable() {
    upgrade_leaves_nothing_outside_the_model(5).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrading_seven_migrations_in_public_leaves_nothing_callable() {
    upgrade_leaves_nothing_outside_the_model(7).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrading_eight_migrations_in_the_own_schema_leaves_nothing_callable() {
    upgrade_leaves_nothing_outside_the_model(8).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrading_nine_migrations_in_the_own_schema_leaves_nothing_callable() {
    upgrade_leaves_nothing_outside_the_model(9).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrading_ten_migrations_in_the_own_schema_leaves_nothing_callable() {
    upgrade_leaves_nothing_outside_the_model(10).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrading_eleven_migrations_in_the_own_schema_leaves_nothing_callable() {
    upgrade_leaves_nothing_outside_the_model(11).await;
}

/// The team's own tables as they are (issue 35): chats keyed by `bigint`,
/// messages pointing at them, each chat its owner's alone (row-level
/// security on both). Supabase's default privileges give `authenticated`
/// SELECT. The README's mapping (`readme_mapping`) adds the messages'
/// index and two views naming the columns — no cast of an id.
const TEAM_TABLES: &str = include_str!("sql/team_tables.sql");

/// The SQL of the README's "Your own tables": the index and the views.
fn readme_mapping() -> String {
    let readme = include_str!("../README.md");
    let section = &readme[readme.find("## Your own tables").expect("the README's section")..];
    let start = section.find("```sql\n").expect("its SQL") + "```sql\n".len();
    section[start..][..section[start..].find("```").unwrap()].to_owned()
}

/// A service reading the team's views on `url`, every export queued.
fn team_service(url: &str) -> ExportService {
    let mut app = config(url);
    app.conversations_table = Some("public.training_conversations".into());
    app.turns_table = Some("public.training_turns".into());
    app.sync_threshold = 100;
    ExportService::connect(app).unwrap()
}

/// Seen failing on the earlier main: the source check refused the team's
/// views (`training_conversations.id is bigint, expected uuid (cast it in
/// the view)`), and with the ids cast to uuid in the views the turn lookup
/// of a batch could use no index. Now `bigint` ids are read as they are:
/// an export of 2,000 of 3,000 chats completes, the other owner's chats
/// left out; with the messages' index dropped the check names the
/// sequential scan and the table to index. A worker configured without
/// the team's views refuses the job instead of exporting nothing.
#[tokio::test(flavor = "multi_thread")]
async fn the_teams_bigint_chats_export_as_they_are_and_a_missing_index_is_named() {
    let db = pg::supabase_database().await;
    let app = admin(&db.app_url).await;
    let service = team_service(&db.app_url);
    service.migrate().await.unwrap();
    app.batch_execute(TEAM_TABLES).await.unwrap();
    app.batch_execute(&readme_mapping()).await.unwrap();
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    for user in [alice, bob] {
        app.execute(
            "INSERT INTO auth.users (id, email) VALUES ($1, $2)",
            &[&user, &format!("{user}@example.com")],
        )
        .await
        .unwrap();
    }
    app.execute(
        "WITH made AS (
           INSERT INTO public.chats (owner, title, created_at)
           SELECT CASE WHEN n % 3 = 0 THEN $2::uuid ELSE $1::uuid END, 'chat ' || n,
                  now() - make_interval(secs => 3000 - n)
           FROM generate_series(1, 3000) n RETURNING id, owner)
         INSERT INTO public.chat_messages (chat_id, idx, role, body)
         SELECT id, t.idx, t.role, CASE WHEN owner = $2::uuid THEN 'bob''s ' ELSE 'alice''s ' END || t.role
         FROM made, (VALUES (1, 'user'), (2, 'assistant')) t(idx, role)",
        &[&alice, &bob],
    )
    .await
    .unwrap();
    app.batch_execute("ANALYZE public.chats; ANALYZE public.chat_messages").await.unwrap();

    let body = serde_json::json!({ "config": { "scope": "all", "format": "jsonl" } });
    let export_id = service.create_export(alice, &body).await.unwrap().export_id();
    // A worker without the app's source tables reads the library's own:
    // it refuses the job (it once completed it with an empty file), naming
    // both sources to its operator; the attempt is retried.
    let reports: Arc<Mutex<Vec<ErrorReport>>> = Arc::default();
    let seen = reports.clone();
    let mut unconfigured = config(&db.app_url);
    unconfigured.sync_threshold = 100;
    let unconfigured = ExportService::connect(unconfigured)
        .unwrap()
        .with_error_sink(Arc::new(move |r: &ErrorReport| seen.lock().unwrap().push(r.clone())));
    unconfigured.process_jobs(1).await.unwrap();
    let status = service.status(alice, export_id).await.unwrap();
    assert_eq!(status.status, lora_export::audit::ExportStatus::Queued, "{status:?}");
    let report = reports.lock().unwrap()[0].clone();
    assert_eq!((report.code, report.export_id), ("SOURCE_MISMATCH", Some(export_id)));
    for named in ["\"public\".\"training_turns\"", "\"lora_export\".\"conversations\""] {
        assert!(report.detail.contains(named), "{named} in {}", report.detail);
    }
    app.execute("UPDATE lora_export.export_jobs SET run_after = now()", &[]).await.unwrap();
    assert_eq!(service.process_jobs(1).await.unwrap(), 1);
    let status = service.status(alice, export_id).await.unwrap();
    assert_eq!(status.conversation_count, 2000, "{status:?}");
    let mut download = service.open_download(alice, export_id).await.unwrap();
    let mut text = String::new();
    download.file.read_to_string(&mut text).await.unwrap();
    assert_eq!(text.lines().count(), 2000);
    assert!(text.contains("alice's assistant") && !text.contains("bob's"), "only alice's chats");
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["metadata"]["conversation_id"], "chat-1", "{first}");
    remove_storage(&service);

    let index: String = app
        .query_one(
            "SELECT indexname::text FROM pg_indexes WHERE tablename = 'chat_messages'
                    AND indexdef LIKE '%(chat_id, idx)'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    app.batch_execute(&format!("DROP INDEX public.{index}")).await.unwrap();
    let err = team_service(&db.app_url).check_source().await.unwrap_err();
    let Some(lora_export::ErrorKind::Internal { detail, .. }) = err.core_kind() else {
        panic!("{err:?}")
    };
    for named in ["public.chat_messages", "sequential scan", "chat_id", "CREATE INDEX"] {
        assert!(detail.contains(named), "{named} in {detail}");
    }
}

/// Text keys as they are: the app's slugs are the conversations' ids, the
/// turns refer to them, and an export reads them without a cast.
#[tokio::test(flavor = "multi_thread")]
async fn text_ids_are_read_as_they_are() {
    let url = pg::empty_database().await;
    let admin = admin(&url).await;
    admin.batch_execute(APP_SCHEMA).await.unwrap();
    ExportService::connect(config(&url)).unwrap().migrate_with(pg::STAND_INS).await.unwrap();
    admin
        .batch_execute(&APP_VIEWS.replace("c.uid AS id", "c.slug AS id").replace(
            "SELECT c.uid AS conversation_id, m.n::integer",
            "SELECT c.slug AS conversation_id, m.n::integer",
        ))
        .await
        .unwrap();
    let mut app = config(&url);
    app.conversations_table = Some("public.training_conversations".into());
    app.turns_table = Some("public.training_turns".into());
    let service = ExportService::connect(app).unwrap();
    let user = pg::create_user(service.database()).await;
    let (count, text) = export_text(&service, user, "all").await;
    assert_eq!(count, 2);
    assert!(text.contains("I want a refund") && text.contains("Yes, again."), "{text}");
    assert_eq!(service.source_tables().key_type(), "text");
    remove_storage(&service);
}
