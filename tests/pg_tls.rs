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

/// Whether a pooled connection of `url` (through PgBouncer: TLS is the
/// client's side, PgBouncer's own) runs a statement.
async fn connects(url: &str) -> lora_export::pg::Result<()> {
    let db = Database::connect(&ServiceConfig::new(url))?;
    db.client().await?.query_one("SELECT 1", &[]).await?;
    Ok(())
}

fn self_signed() -> (String, String) {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name}: run through scripts/test.sh"))
    };
    (var("LORA_EXPORT_TEST_SELF_SIGNED_URL"), var("LORA_EXPORT_TEST_SELF_SIGNED_CERT"))
}

/// Issue 35: a server presenting a self-signed certificate (CA:TRUE, as
/// `openssl req -x509` makes it), given as `sslrootcert`, is accepted with
/// `verify-full` as psql accepts it; the host name is still checked.
#[tokio::test]
async fn a_self_signed_server_certificate_given_as_sslrootcert_is_accepted() {
    let (url, cert) = self_signed();
    let full = format!("{url}?sslmode=verify-full&sslrootcert={cert}");
    connects(&full).await.expect("verify-full with the server's own certificate");
    let ca_only =
        format!("{}?sslmode=verify-ca&sslrootcert={cert}", url.replace("localhost", "127.0.0.1"));
    connects(&ca_only).await.expect("verify-ca does not check the host name");
    let by_address =
        format!("{}?sslmode=verify-full&sslrootcert={cert}", url.replace("localhost", "127.0.0.1"));
    let host = connects(&by_address).await.unwrap_err();
    assert!(tls_detail(&host).contains("not valid for name"), "{}", tls_detail(&host));
    let other =
        connects(&format!("{url}?sslmode=verify-full&sslrootcert={}", ca())).await.unwrap_err();
    assert!(tls_detail(&other).contains("UnknownIssuer"), "{}", tls_detail(&other));
}

/// A CA bundle of several certificates (Supabase's has a root and an
/// intermediate) works whichever of them signed the server's certificate.
#[tokio::test]
async fn a_bundle_of_several_certificates_works() {
    let bundle =
        std::env::temp_dir().join(format!("lora-export-bundle-{}.crt", uuid::Uuid::new_v4()));
    let (_, self_signed_cert) = self_signed();
    let text = [wrong_ca(), ca(), self_signed_cert]
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect::<String>();
    std::fs::write(&bundle, text).unwrap();
    let url = pg::fresh_database().await.replace("127.0.0.1", "localhost");
    let full = format!("{url}?sslmode=verify-full&sslrootcert={}", bundle.display());
    assert!(encrypted(&full).await.unwrap(), "the CA-signed server through a bundle");
    let (pooler, _) = self_signed();
    let full = format!("{pooler}?sslmode=verify-full&sslrootcert={}", bundle.display());
    connects(&full).await.expect("the self-signed server through a bundle");
    std::fs::remove_file(bundle).unwrap();
}
