//! Where a request carries its access token: `Authorization: Bearer …`, or
//! the auth cookie that `@supabase/ssr` sets (`sb-<ref>-auth-token`, split
//! into `.0`, `.1`, … chunks when long, its value JSON or `base64-` JSON).

use base64::Engine;
use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::TokenRefusal;

/// The name of the auth cookie supabase-js and `@supabase/ssr` use for a
/// project URL: `sb-<first label of the host>-auth-token`.
///
/// ```
/// use lora_export_service::cookie_name_for;
/// assert_eq!(cookie_name_for("https://abcd.supabase.co").as_deref(), Some("sb-abcd-auth-token"));
/// assert_eq!(cookie_name_for("http://127.0.0.1:54321").as_deref(), Some("sb-127-auth-token"));
/// ```
pub fn cookie_name_for(supabase_url: &str) -> Option<String> {
    let rest = supabase_url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.split(':').next()?,
    };
    let label = host.split('.').next().filter(|l| !l.is_empty())?;
    Some(format!("sb-{label}-auth-token"))
}

/// The access token of a request: the `Authorization: Bearer` token when
/// that header is present, else the one in the Supabase auth cookie named
/// `cookie_name` (any `sb-*-auth-token` when `None` and only one is sent).
///
/// ```
/// use lora_export_service::access_token;
/// use lora_export_service::TokenRefusal;
/// assert_eq!(access_token(Some("Bearer abc.def.ghi"), None, None).unwrap(), "abc.def.ghi");
/// let cookie = r#"theme=dark; sb-abcd-auth-token=%7B%22access_token%22%3A%22abc.def.ghi%22%7D"#;
/// assert_eq!(access_token(None, Some(cookie), Some("sb-abcd-auth-token")).unwrap(), "abc.def.ghi");
/// assert_eq!(access_token(None, Some("theme=dark"), None), Err(TokenRefusal::Missing));
/// ```
///
/// # Errors
///
/// `missing` without either; `malformed` for an `Authorization` header
/// that is not `Bearer <token>` or a cookie that holds no token.
pub fn access_token(
    authorization: Option<&str>,
    cookie: Option<&str>,
    cookie_name: Option<&str>,
) -> Result<String, TokenRefusal> {
    if let Some(header) = authorization.map(str::trim).filter(|h| !h.is_empty()) {
        let (scheme, token) = header.split_once(' ').ok_or(TokenRefusal::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(TokenRefusal::Malformed);
        }
        return Ok(token.trim().to_owned());
    }
    let value = auth_cookie(cookie.unwrap_or_default(), cookie_name)?;
    token_in_cookie_value(&value)
}

/// A cookie's name without its chunk suffix (`.0`, `.1`, …).
fn base_of(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((base, index)) if index.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => name,
    }
}

/// The value of the auth cookie, its chunks joined in order.
fn auth_cookie(header: &str, wanted: Option<&str>) -> Result<String, TokenRefusal> {
    let pairs: Vec<(&str, &str)> = header
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.trim(), value.trim()))
        .collect();
    let is_base = |name: &str| match wanted {
        Some(wanted) => name == wanted,
        None => name.starts_with("sb-") && name.ends_with("-auth-token"),
    };
    let mut bases: Vec<&str> =
        pairs.iter().map(|(n, _)| base_of(n)).filter(|n| is_base(n)).collect();
    bases.dedup();
    let base = match bases.as_slice() {
        [] => return Err(TokenRefusal::Missing),
        [one] => *one,
        _ => return Err(TokenRefusal::Malformed),
    };
    let find = |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let raw = match find(base) {
        Some(whole) => whole.to_owned(),
        None => (0..).map_while(|i| find(&format!("{base}.{i}"))).collect::<Vec<_>>().concat(),
    };
    if raw.is_empty() {
        return Err(TokenRefusal::Missing);
    }
    percent_decode_str(&raw)
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| TokenRefusal::Malformed)
}

/// The access token in a cookie value: `base64-` + base64url of the session
/// JSON, or the JSON itself (`{"access_token": …}`, or the older array whose
/// first element is the token).
fn token_in_cookie_value(value: &str) -> Result<String, TokenRefusal> {
    let json = match value.strip_prefix("base64-") {
        Some(encoded) => {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(encoded.trim_end_matches('='))
                .map_err(|_| TokenRefusal::Malformed)?;
            String::from_utf8(bytes).map_err(|_| TokenRefusal::Malformed)?
        }
        None => value.to_owned(),
    };
    let session: Value = serde_json::from_str(&json).map_err(|_| TokenRefusal::Malformed)?;
    let token = match &session {
        Value::Object(fields) => fields.get("access_token"),
        Value::Array(items) => items.first(),
        _ => None,
    };
    match token.and_then(Value::as_str) {
        Some(token) if !token.is_empty() => Ok(token.to_owned()),
        _ => Err(TokenRefusal::Malformed),
    }
}
