//! Through Supabase's transaction-mode pooler (PgBouncer in transaction
//! mode here, as Supavisor on port 6543 pools): the service refuses it at
//! its first connection with `DATABASE_POOLER_UNSUPPORTED` and a message
//! naming the session-mode alternative, whether the pooler refuses the
//! startup settings (PgBouncer's default) or drops them
//! (`ignore_startup_parameters = options`). The test script starts both
//! poolers (`scripts/postgres.sh`).

#[path = "support/pg.rs"]
mod pg;

use lora_export::pg::ErrorKind;
use lora_export::pg::{ExportService, ServiceConfig};

fn pooler_url(variable: &str) -> String {
    std::env::var(variable)
        .unwrap_or_else(|_| panic!("{variable} is not set: run the tests with scripts/test.sh"))
}

async fn first_operation(url: &str) -> lora_export::pg::Error {
    let mut config = ServiceConfig::new(url);
    config.storage_root = std::env::temp_dir().join("lora-export-pooler");
    let service = ExportService::connect(config).unwrap();
    service.migrate().await.expect_err("a transaction-mode pooler must be refused")
}

fn assert_refused(error: &lora_export::pg::Error) {
    assert_eq!(
        (error.code(), error.http_status()),
        ("DATABASE_POOLER_UNSUPPORTED", 500),
        "{error}"
    );
    assert!(matches!(error.kind(), ErrorKind::UnsupportedPooler(_)));
    let message = error.to_string();
    assert!(message.contains("session mode") && message.contains("5432"), "{message}");
}

#[tokio::test]
async fn a_pooler_that_refuses_startup_settings_is_named_not_a_database_error() {
    let error = first_operation(&pooler_url("LORA_EXPORT_TEST_POOLER_URL")).await;
    assert_refused(&error);
    assert!(error.to_string().contains("unsupported startup parameter"), "{error}");
}

#[tokio::test]
async fn a_pooler_that_drops_startup_settings_is_refused_too() {
    let error = first_operation(&pooler_url("LORA_EXPORT_TEST_POOLER_IGNORING_URL")).await;
    assert_refused(&error);
    assert!(error.to_string().contains("statement_timeout"), "{error}");
}

#[test]
fn supavisor_transaction_port_is_refused_before_connecting() {
    let url = "postgres://postgres.abcd:secret@aws-0-eu-west-1.pooler.supabase.com:6543/postgres";
    let error = ExportService::connect(ServiceConfig::new(url)).unwrap_err();
    assert_refused(&error);
}

#[tokio::test]
async fn the_direct_connection_behind_the_same_settings_works() {
    let url = pg::admin_url();
    let mut config = ServiceConfig::new(url);
    config.storage_root = std::env::temp_dir().join("lora-export-pooler");
    let service = ExportService::connect(config).unwrap();
    drop(service.database().client().await.expect("a direct connection passes the settings check"));
}
