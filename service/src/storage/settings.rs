//! [`ObjectStoreSettings`]: how to reach an S3-compatible store.

use lora_export_core::ErrorKind as CoreKind;
use std::fmt;

use crate::Result;
use crate::Secret;

/// The connection settings of an S3-compatible store, read from the usual
/// `AWS_*` variables by [`from_lookup`](Self::from_lookup) (and so by
/// [`ServiceConfig::from_env`](crate::ServiceConfig::from_env)).
///
/// | field | env | default |
/// |---|---|---|
/// | `endpoint` | `AWS_ENDPOINT_URL` (else `AWS_ENDPOINT`) | AWS S3 of `region` |
/// | `region` | `AWS_REGION` (else `AWS_DEFAULT_REGION`) | `us-east-1` |
/// | `access_key_id` | `AWS_ACCESS_KEY_ID` | none: refused at startup |
/// | `secret_access_key` | `AWS_SECRET_ACCESS_KEY` | none: refused at startup |
/// | `session_token` | `AWS_SESSION_TOKEN` | none |
/// | `allow_http` | `AWS_ALLOW_HTTP` (`true`/`false`) | false: `https` only |
/// | `virtual_hosted_style` | `AWS_VIRTUAL_HOSTED_STYLE_REQUEST` | false: path-style (`endpoint/bucket/key`), as Supabase Storage, MinIO and most S3-compatible servers want |
///
/// Supabase Storage's S3 endpoint: `AWS_ENDPOINT_URL=https://<ref>.supabase.co/storage/v1/s3`,
/// `AWS_REGION=<the project's region>`, the access keys from the project's
/// Storage settings, path-style (the default).
///
/// ```
/// use lora_export_service::ObjectStoreSettings;
/// let env = |k: &str| match k {
///     "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:9000".to_owned()),
///     "AWS_ALLOW_HTTP" => Some("true".to_owned()),
///     "AWS_SECRET_ACCESS_KEY" => Some("not-in-debug".to_owned()),
///     _ => None,
/// };
/// let settings = ObjectStoreSettings::from_lookup(env).unwrap();
/// assert!(settings.allow_http && settings.region == "us-east-1");
/// assert!(!format!("{settings:?}").contains("not-in-debug"));
/// let bad = ObjectStoreSettings::from_lookup(|k| (k == "AWS_ALLOW_HTTP").then(|| "yes".into()));
/// assert!(bad.unwrap_err().to_string().contains("AWS_ALLOW_HTTP"));
/// ```
#[derive(Clone, PartialEq)]
pub struct ObjectStoreSettings {
    /// The server's URL; none for AWS S3 itself.
    pub endpoint: Option<String>,
    /// The bucket's region (signed into every request).
    pub region: String,
    /// The access key's id.
    pub access_key_id: Option<String>,
    /// The access key's secret.
    pub secret_access_key: Option<Secret>,
    /// A session token, for temporary credentials.
    pub session_token: Option<Secret>,
    /// Whether `http://` endpoints are allowed (a local server).
    pub allow_http: bool,
    /// `bucket.endpoint/key` instead of `endpoint/bucket/key`.
    pub virtual_hosted_style: bool,
}

impl Default for ObjectStoreSettings {
    fn default() -> Self {
        ObjectStoreSettings {
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            allow_http: false,
            virtual_hosted_style: false,
        }
    }
}

impl fmt::Debug for ObjectStoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreSettings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .field("allow_http", &self.allow_http)
            .field("virtual_hosted_style", &self.virtual_hosted_style)
            .finish()
    }
}

impl ObjectStoreSettings {
    /// Reads the settings through `lookup` (the environment, a map …).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let text = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let flag = |name: &str| -> Result<bool> {
            match text(name).as_deref() {
                None | Some("false") | Some("0") => Ok(false),
                Some("true") | Some("1") => Ok(true),
                Some(other) => {
                    let message = format!("{name} must be true or false, got `{other}`");
                    Err(CoreKind::Config(message).into())
                }
            }
        };
        Ok(ObjectStoreSettings {
            endpoint: text("AWS_ENDPOINT_URL").or_else(|| text("AWS_ENDPOINT")),
            region: text("AWS_REGION")
                .or_else(|| text("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            access_key_id: text("AWS_ACCESS_KEY_ID"),
            secret_access_key: text("AWS_SECRET_ACCESS_KEY").map(Secret::from),
            session_token: text("AWS_SESSION_TOKEN").map(Secret::from),
            allow_http: flag("AWS_ALLOW_HTTP")?,
            virtual_hosted_style: flag("AWS_VIRTUAL_HOSTED_STYLE_REQUEST")?,
        })
    }
}
