//! TLS to PostgreSQL: the test cluster runs with `ssl=on` and a server
//! certificate for `localhost` signed by a throwaway CA
//! (`scripts/postgres.sh`); each `sslmode` behaves as libpq's.

#[path = "support/pg.rs"]
mod pg;

use lora_export::pg::{Database, ServiceConfig};

fn ca() -> String {
    std::env::var("LORA_EXPORT_TEST_SSL_ROOT_CERT")
        .expect("LORA_EXPORT_TEST_SSL_ROOT_CERT: run through scripts/test.sh")
}

fn wrong_ca() -> String {
    std::env::var("LORA_EXPORT_TEST_SSL_WRONG_CA").expect("LORA_EXPORT_TEST_SSL_WRONG_CA")
}

/// Whether a pooled connection of `url` is encrypted, or the error.
async fn encrypted(url: &str) -> lora_export::pg::Result<bool> {
    let db = Database::connect(&ServiceConfig::new(url))?;
    let client = db.client().await?;
    let row =
        client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await?;
    Ok(row.get(0))
}

fn tls_detail(error: &lora_export::pg::Error) -> String {
    match error.core_kind() {
        Some(lora_export::ErrorKind::Internal { code: "DATABASE_TLS_ERROR", detail, .. }) => {
            detail.clone()
        }
        other => panic!("expected a DATABASE_TLS_ERROR, got {other:?}"),
    }
}

#[tokio::test]
async fn each_sslmode_behaves_as_libpq_reads_it() {
    let url = pg::fresh_database().await;
    let by_name = url.replace("127.0.0.1", "localhost");
    assert!(!encrypted(&format!("{url}?sslmode=disable")).await.unwrap(), "disable");
    assert!(encrypted(&url).await.unwrap(), "prefer is the default, and the server offers TLS");
    assert!(encrypted(&format!("{url}?sslmode=require")).await.unwrap(), "require");
    let full = format!("{by_name}?sslmode=verify-full&sslrootcert={}", ca());
    assert!(encrypted(&full).await.unwrap(), "verify-full with the right CA and host name");
    let ca_only = format!("{url}?sslmode=verify-ca&sslrootcert={}", ca());
    assert!(encrypted(&ca_only).await.unwrap(), "verify-ca does not check the host name");
    let keywords = format!(
        "host=localhost port={} user=postgres dbname={} sslmode=verify-full sslrootcert='{}'",
        url.rsplit_once(':').unwrap().1.split_once('/').unwrap().0,
        url.rsplit_once('/').unwrap().1,
        ca()
    );
    assert!(encrypted(&keywords).await.unwrap(), "the key=value form");
}

#[tokio::test]
async fn verification_failures_are_clear_errors() {
    let url = pg::fresh_database().await;
    let by_name = url.replace("127.0.0.1", "localhost");
    let wrong = encrypted(&format!("{by_name}?sslmode=verify-full&sslrootcert={}", wrong_ca()))
        .await
        .unwrap_err();
    assert!(tls_detail(&wrong).contains("UnknownIssuer"), "{}", tls_detail(&wrong));
    let host =
        encrypted(&format!("{url}?sslmode=verify-full&sslrootcert={}", ca())).await.unwrap_err();
    assert!(tls_detail(&host).contains("not valid for name"), "{}", tls_detail(&host));
    let require_with_ca = format!("{by_name}?sslmode=require&sslrootcert={}", wrong_ca());
    assert!(
        encrypted(&require_with_ca).await.is_err(),
        "require with a root certificate checks the chain, as libpq does"
    );
    let missing = Database::connect(&ServiceConfig::new(format!(
        "{url}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
    )))
    .unwrap_err();
    assert_eq!(missing.code(), "CONFIG_ERROR");
    assert!(missing.to_string().contains("/nonexistent/ca.pem"), "{missing}");
}
