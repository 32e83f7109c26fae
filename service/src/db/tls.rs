//! TLS to PostgreSQL with rustls: `sslmode` and `sslrootcert` read as libpq
//! reads them, from the connection string (URL query or `key=value`) or
//! from `PGSSLMODE` / `PGSSLROOTCERT`.
//!
//! | `sslmode` | encrypted | certificate checked | host name checked |
//! |---|---|---|---|
//! | `disable` | no | — | — |
//! | `allow`, `prefer` (libpq's default) | when the server offers it | no | no |
//! | `require` | yes | against `sslrootcert` when one is given (then like `verify-ca`), else no | no |
//! | `verify-ca` | yes | against `sslrootcert` | no |
//! | `verify-full` | yes | against `sslrootcert` | yes |
//!
//! `sslrootcert` is a PEM file of one or several CA certificates
//! (Supabase's dashboard offers its CA bundle as a download), or of the
//! server's own self-signed certificate, which is accepted when the server
//! presents exactly it (as libpq accepts it: OpenSSL trusts a self-signed
//! certificate given as a root), still within its validity period and, for
//! `verify-full`, naming the host; `verify-ca`/`verify-full` without one
//! read `~/.postgresql/root.crt`, as libpq does, and refuse to connect when
//! there is none.

use lora_export_core::ErrorKind as CoreKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_name, WebPkiServerVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode as WireMode;
use tokio_postgres_rustls::MakeRustlsConnect;
use x509_cert::der::Decode;

use crate::Result;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, without checks (libpq's `allow` and `prefer`).
    Prefer,
    /// TLS or no connection; the certificate is checked only against an
    /// explicit `sslrootcert`.
    Require,
    /// TLS with the certificate chain checked against the root certificates.
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(CoreKind::Config(format!(
                    "sslmode `{other}`: expected disable, allow, prefer, require, verify-ca or verify-full"
                ))
                .into())
            }
        })
    }
}

/// The TLS settings of a connection string, and the string without them
/// (what `tokio_postgres::Config` parses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
    pub rest: String,
}

impl TlsSettings {
    /// Reads `sslmode` and `sslrootcert` out of `url`; `env` gives
    /// `PGSSLMODE` / `PGSSLROOTCERT` (and `HOME`) as defaults.
    pub fn from_connection_string(
        url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<TlsSettings> {
        let (rest, mut mode, mut root) =
            if let Some((base, query)) = url.split_once('?').filter(|_| url.contains("://")) {
                let mut keep = Vec::new();
                let (mut mode, mut root) = (None, None);
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    match key {
                        "sslmode" => mode = Some(percent_decode(value)),
                        "sslrootcert" => root = Some(percent_decode(value)),
                        _ => keep.push(pair),
                    }
                }
                let rest = if keep.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", keep.join("&"))
                };
                (rest, mode, root)
            } else if url.contains("://") {
                (url.to_owned(), None, None)
            } else {
                let mut keep = Vec::new();
                let (mut mode, mut root) = (None, None);
                for (key, value, raw) in key_values(url) {
                    match key.as_str() {
                        "sslmode" => mode = Some(value),
                        "sslrootcert" => root = Some(value),
                        _ => keep.push(raw),
                    }
                }
                (keep.join(" "), mode, root)
            };
        mode = mode.or_else(|| env("PGSSLMODE"));
        root = root.or_else(|| env("PGSSLROOTCERT"));
        let mode = SslMode::parse(mode.as_deref().unwrap_or("prefer"))?;
        let mut root_cert = root.filter(|r| !r.is_empty()).map(PathBuf::from);
        if root_cert.is_none() && matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) {
            let default = env("HOME").map(|home| Path::new(&home).join(".postgresql/root.crt"));
            root_cert = Some(default.filter(|p| p.exists()).ok_or_else(|| {
                CoreKind::Config(
                    "sslmode verify-ca/verify-full needs sslrootcert (a PEM file of CA \
                     certificates), and ~/.postgresql/root.crt does not exist"
                        .into(),
                )
            })?);
        }
        Ok(TlsSettings { mode, root_cert, rest })
    }

    /// What tokio-postgres negotiates on the wire.
    pub fn wire_mode(&self) -> WireMode {
        match self.mode {
            SslMode::Disable => WireMode::Disable,
            SslMode::Prefer => WireMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireMode::Require,
        }
    }

    /// The rustls connector for these settings.
    pub fn connector(&self) -> Result<MakeRustlsConnect> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(tls_config_error)?;
        let verifier: Arc<dyn ServerCertVerifier> = match (&self.root_cert, self.mode) {
            (None, _) => Arc::new(Unverified(provider)),
            (Some(path), mode) => Arc::new(
                RootCerts::new(root_certs(path)?, provider, mode == SslMode::VerifyFull)
                    .map_err(|e| unreadable(path, &e))?,
            ),
        };
        let config =
            builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

fn unreadable(path: &Path, e: &dyn std::fmt::Display) -> crate::Error {
    CoreKind::Config(format!("sslrootcert {}: {e}", path.display())).into()
}

/// The certificates of an `sslrootcert` file (one or several, as a CA
/// bundle has them).
fn root_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(path, &e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| unreadable(path, &e))?;
    if certs.is_empty() {
        return Err(unreadable(path, &"no certificate in the file"));
    }
    Ok(certs)
}

fn tls_config_error(e: rustls::Error) -> crate::Error {
    CoreKind::Config(format!("TLS: {e}")).into()
}

/// libpq's `require`/`prefer` without a root certificate: the connection is
/// encrypted, the certificate is not checked (the handshake signature is).
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// libpq's checks against `sslrootcert`: the chain must lead to one of
/// its certificates, or the server's certificate must be one of them (a
/// self-signed certificate, which `openssl req -x509` marks as a CA and
/// webpki refuses as a server's); either way within its validity period,
/// and naming the host for `verify-full`.
#[derive(Debug)]
struct RootCerts {
    chain: Arc<WebPkiServerVerifier>,
    certs: Vec<CertificateDer<'static>>,
    check_name: bool,
}

impl RootCerts {
    fn new(
        certs: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
        check_name: bool,
    ) -> std::result::Result<RootCerts, rustls::Error> {
        let mut roots = RootCertStore::empty();
        for cert in &certs {
            roots.add(cert.clone())?;
        }
        let chain = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        Ok(RootCerts { chain, certs, check_name })
    }
}

impl ServerCertVerifier for RootCerts {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if self.certs.iter().any(|root| root.as_ref() == end_entity.as_ref()) {
            within_validity(end_entity, now)?;
            if self.check_name {
                verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
            }
            return Ok(ServerCertVerified::assertion());
        }
        match self.chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            // A self-signed certificate that is not in sslrootcert: webpki
            // objects to its CA flag before it looks for an issuer; what
            // matters to the reader is that none of sslrootcert issued it.
            Err(_) if self_signed(end_entity) => {
                Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain.supported_verify_schemes()
    }
}

/// Whether `cert` names itself as its issuer.
fn self_signed(cert: &CertificateDer<'_>) -> bool {
    x509_cert::Certificate::from_der(cert.as_ref())
        .is_ok_and(|c| c.tbs_certificate.issuer == c.tbs_certificate.subject)
}

/// Refuses `cert` outside its validity period (what webpki checks of a
/// certificate it builds a chain from).
fn within_validity(
    cert: &CertificateDer<'_>,
    now: UnixTime,
) -> std::result::Result<(), rustls::Error> {
    let parsed = x509_cert::Certificate::from_der(cert.as_ref())
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let validity = &parsed.tbs_certificate.validity;
    let now = Duration::from_secs(now.as_secs());
    if now < validity.not_before.to_unix_duration() {
        return Err(rustls::Error::InvalidCertificate(CertificateError::NotValidYet));
    }
    if now > validity.not_after.to_unix_duration() {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    Ok(())
}

/// `%XX` decoding of a URL query value (`+` stays `+`, as libpq reads it).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `key=value` pairs of a libpq keyword string (values may be single
/// quoted, with `\'` and `\\` escapes): (key, value, the pair as written).
fn key_values(text: &str) -> Vec<(String, String, String)> {
    let mut pairs = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut key = String::new();
        while let Some(&(_, c)) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|&(_, c)| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_some_and(|&(_, c)| c == '=') {
            chars.next();
        }
        while chars.peek().is_some_and(|&(_, c)| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek().is_some_and(|&(_, c)| c == '\'') {
            chars.next();
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next().map(|(_, c)| c)),
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&(_, c)) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        let end = chars.peek().map_or(text.len(), |&(i, _)| i);
        pairs.push((key, value, text[start..end].to_owned()));
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> TlsSettings {
        TlsSettings::from_connection_string(url, |_| None).unwrap()
    }

    #[test]
    fn url_options_are_taken_out_and_the_rest_kept() {
        let s = settings("postgres://u:p@db:5432/app?sslmode=require&application_name=x");
        assert_eq!(
            (s.mode, s.root_cert, s.rest.as_str()),
            (SslMode::Require, None, "postgres://u:p@db:5432/app?application_name=x")
        );
        let s = settings("postgresql://db/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem");
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(s.rest, "postgresql://db/app");
        assert_eq!(settings("postgres://db/app").mode, SslMode::Prefer, "libpq's default");
    }

    #[test]
    fn keyword_strings_are_read_like_libpq() {
        let s = settings(
            "host=db user=u sslmode = 'verify-ca' sslrootcert='/a b/c\\'s.pem' dbname=app",
        );
        assert_eq!(s.mode, SslMode::VerifyCa);
        assert_eq!(s.root_cert.as_deref(), Some(Path::new("/a b/c's.pem")));
        assert_eq!(s.rest, "host=db user=u dbname=app");
    }

    /// A self-signed certificate for `localhost` as `openssl req -x509`
    /// makes one (CA:TRUE), valid for one day from [`NOT_BEFORE`].
    const SELF_SIGNED: &str = "-----BEGIN CERTIFICATE-----
MIIBkjCCATmgAwIBAgIUZ59KI3OYEvu2XxO8Y6PYM/JRQXwwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MB4XDTI2MTIwNjE3MDI0MVoXDTI2MTIwNzE3
MDI0MVowFDESMBAGA1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEanUJT3nE5jdyGGVxgbL+TT1ogqWtYjqlyX9rp6AtIP2hxPeGio1PjNsv
oz87/T6jKZ8iDrtdH6LQENuRiEUg0aNpMGcwHQYDVR0OBBYEFAxDg3uC+nVx7In+
EfTfSN7DOwQjMB8GA1UdIwQYMBaAFAxDg3uC+nVx7In+EfTfSN7DOwQjMA8GA1Ud
EwEB/wQFMAMBAf8wFAYDVR0RBA0wC4IJbG9jYWxob3N0MAoGCCqGSM49BAMCA0cA
MEQCID5mfVrbB3ZdcLM29noWsUh7cgEUhzvVYe9Q3zmh9riTAiAo0PqMg50CMBT7
LZRlqBtWAVDwrStYfrPY2hptAqvVlQ==
-----END CERTIFICATE-----
";

    /// 2026-12-06T17:02:41Z.
    const NOT_BEFORE: u64 = 1_796_576_561;

    #[test]
    fn a_certificate_of_sslrootcert_is_held_to_its_validity_period_and_name() {
        let cert = CertificateDer::from_pem_slice(SELF_SIGNED.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let full = RootCerts::new(vec![cert.clone()], Arc::clone(&provider), true).unwrap();
        let at = |secs| UnixTime::since_unix_epoch(Duration::from_secs(secs));
        let localhost = ServerName::try_from("localhost").unwrap();
        let check = |verifier: &RootCerts, name: &ServerName<'_>, secs| {
            verifier.verify_server_cert(&cert, &[], name, &[], at(secs)).map(|_| ())
        };
        assert_eq!(check(&full, &localhost, NOT_BEFORE + 3600), Ok(()));
        let refused = |e: CertificateError| Err(rustls::Error::InvalidCertificate(e));
        assert_eq!(
            check(&full, &localhost, NOT_BEFORE - 60),
            refused(CertificateError::NotValidYet)
        );
        assert_eq!(
            check(&full, &localhost, NOT_BEFORE + 2 * 86_400),
            refused(CertificateError::Expired)
        );
        let other = ServerName::try_from("db.example.com").unwrap();
        assert!(check(&full, &other, NOT_BEFORE + 3600).is_err(), "verify-full checks the name");
        let ca_only = RootCerts::new(vec![cert.clone()], provider, false).unwrap();
        assert_eq!(check(&ca_only, &other, NOT_BEFORE + 3600), Ok(()), "verify-ca does not");
    }

    #[test]
    fn the_environment_gives_defaults_and_bad_values_are_refused() {
        let env = |k: &str| (k == "PGSSLMODE").then(|| "disable".to_owned());
        let s = TlsSettings::from_connection_string("postgres://db/app", env).unwrap();
        assert_eq!(s.mode, SslMode::Disable);
        let err = TlsSettings::from_connection_string("postgres://db/app?sslmode=on", |_| None);
        assert!(err.unwrap_err().to_string().contains("sslmode `on`"));
        let err =
            TlsSettings::from_connection_string("postgres://db/app?sslmode=verify-full", |_| None);
        assert!(err.unwrap_err().to_string().contains("needs sslrootcert"));
    }
}
