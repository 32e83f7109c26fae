//! Sign-in: Supabase access tokens verified by the library, so a route in
//! Node, a script in Python and a Rust service get the same guarantee.
//!
//! A [`SignIn`] checks a token with [`jsonwebtoken`] (no hand-written
//! crypto): HS256 with the project's JWT secret (Supabase's legacy keys), or
//! ES256/RS256 with a key of the project's JWKS, picked by the token's
//! `kid` (fetched from `$SUPABASE_URL/auth/v1/.well-known/jwks.json`,
//! cached, refreshed when a `kid` is unknown, or given as JSON). Then the
//! claims: `exp` and `nbf` with a small leeway, `iss` (the project's auth
//! server, when `SUPABASE_URL` is set), `aud = authenticated`,
//! `role = authenticated` (so neither the anon key nor the service-role key
//! is a session) and `sub` a user id. Every refusal is
//! [`ErrorKind::InvalidToken`](lora_export_core::ErrorKind::InvalidToken), HTTP 401,
//! with a [`TokenRefusal`] reason.
//!
//! A verified [`Session`] can be passed to every user operation of the
//! [`ExportService`](super::ExportService) (they take any [`Actor`]). A bare
//! [`Uuid`] is an actor too: that form is for trusted server code (workers,
//! admin tools, tests) that knows the user by other means — never for a
//! user id a request carries.
//!
//! ```
//! use lora_export_service::{ServiceConfig, SignIn};
//! use lora_export_service::TokenRefusal;
//! let mut config = ServiceConfig::new("postgres://localhost/app");
//! config.jwt_secret = Some("a-test-secret-of-at-least-32-bytes!!".into());
//! let sign_in = SignIn::from_config(&config).unwrap().expect("a secret is configured");
//! let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let err = runtime.block_on(sign_in.verify("not-a-jwt")).unwrap_err();
//! assert_eq!(err.reason(), Some(TokenRefusal::Malformed.code()));
//! ```

mod keys;
mod session;
mod token;

use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::ServiceConfig;
use crate::{ErrorKind, Result, TokenRefusal};

pub use session::{Actor, Caller, Session};
pub use token::{access_token, cookie_name_for};

use keys::KeyStore;

/// The audience and role of a signed-in user's Supabase access token.
const AUTHENTICATED: &str = "authenticated";

/// Verifies Supabase access tokens (see the [module docs](self)).
///
/// Built from a [`ServiceConfig`]: `jwt_secret` for HS256, `jwks_json` or
/// `jwks_url` (by default derived from `supabase_url`) for ES256/RS256.
pub struct SignIn {
    secret: Option<DecodingKey>,
    keys: Option<KeyStore>,
    issuer: Option<String>,
    cookie_name: Option<String>,
    leeway: Duration,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("hs256", &self.secret.is_some())
            .field("keys", &self.keys)
            .field("issuer", &self.issuer)
            .field("cookie_name", &self.cookie_name)
            .field("leeway", &self.leeway)
            .finish()
    }
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    role: Option<String>,
    email: Option<String>,
    exp: Option<i64>,
    session_id: Option<String>,
    #[serde(default)]
    is_anonymous: bool,
    #[serde(default)]
    app_metadata: Value,
}

impl SignIn {
    /// The sign-in `config` describes, or `None` when it configures none
    /// (no `jwt_secret`, `jwks_json`, `jwks_url` or `supabase_url`).
    ///
    /// # Errors
    ///
    /// `CONFIG_ERROR` for a JWKS given as JSON that has no usable key.
    pub fn from_config(config: &ServiceConfig) -> Result<Option<SignIn>> {
        config.validate_sign_in()?;
        let base = config.supabase_url.as_deref().map(|u| u.trim_end_matches('/').to_owned());
        let keys = match (&config.jwks_json, &config.jwks_url, &base) {
            (Some(json), _, _) => Some(KeyStore::fixed(json)?),
            (None, Some(url), _) => Some(KeyStore::fetched(url.clone())),
            (None, None, Some(base)) => {
                Some(KeyStore::fetched(format!("{base}/auth/v1/.well-known/jwks.json")))
            }
            (None, None, None) => None,
        };
        let secret = config.jwt_secret.as_ref().map(|s| DecodingKey::from_secret(s.as_bytes()));
        if secret.is_none() && keys.is_none() {
            return Ok(None);
        }
        Ok(Some(SignIn {
            secret,
            keys,
            issuer: base.as_ref().map(|b| format!("{b}/auth/v1")),
            cookie_name: base.as_deref().and_then(cookie_name_for),
            leeway: config.jwt_leeway,
        }))
    }

    /// Verifies `token` and returns the session it proves.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidToken`](lora_export_core::ErrorKind::InvalidToken) (401)
    /// with the reason; an internal `AUTH_KEYS_UNAVAILABLE` (500) when the
    /// JWKS cannot be fetched and no cached key has the token's `kid`.
    pub async fn verify(&self, token: &str) -> Result<Session> {
        let token = token.trim();
        if token.is_empty() {
            return Err(TokenRefusal::Missing.into());
        }
        let header = peek_header(token)?;
        let (algorithm, key) = match header.alg.as_str() {
            "HS256" => {
                let key = self.secret.clone().ok_or(TokenRefusal::AlgorithmNotAllowed)?;
                (Algorithm::HS256, key)
            }
            "ES256" | "RS256" => {
                let wanted =
                    if header.alg == "ES256" { Algorithm::ES256 } else { Algorithm::RS256 };
                let keys = self.keys.as_ref().ok_or(TokenRefusal::AlgorithmNotAllowed)?;
                let kid = header.kid.as_deref().ok_or(TokenRefusal::UnknownKey)?;
                let (algorithm, key) = keys.find(kid).await?;
                if algorithm != wanted {
                    return Err(TokenRefusal::AlgorithmNotAllowed.into());
                }
                (algorithm, key)
            }
            _ => return Err(TokenRefusal::AlgorithmNotAllowed.into()),
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_audience(&[AUTHENTICATED]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
            validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        }
        let all = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|e| refusal(&e))?
            .claims;
        let claims = Claims::deserialize(&all).map_err(|_| TokenRefusal::Malformed)?;
        if claims.role.as_deref() != Some(AUTHENTICATED) {
            return Err(TokenRefusal::WrongRole.into());
        }
        let user_id = claims
            .sub
            .as_deref()
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or(TokenRefusal::BadSubject)?;
        let expires_at = claims
            .exp
            .and_then(|exp| chrono::DateTime::from_timestamp(exp, 0))
            .ok_or(TokenRefusal::Expired)?;
        let app_role = claims.app_metadata.get("role").and_then(Value::as_str).map(str::to_owned);
        Ok(Session::new(
            user_id,
            claims.email,
            expires_at,
            claims.session_id,
            claims.is_anonymous,
            app_role,
            all,
        ))
    }

    /// Finds the access token of a request — `Authorization: Bearer …`, else
    /// the auth cookie `@supabase/ssr` sets (see [`access_token`]) — and
    /// verifies it.
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify); `missing` without either.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        cookie: Option<&str>,
    ) -> Result<Session> {
        let token = access_token(authorization, cookie, self.cookie_name.as_deref())?;
        self.verify(&token).await
    }
}

/// The token's header, read without trusting it: only to pick the key.
fn peek_header(token: &str) -> Result<RawHeader> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRefusal::Malformed.into());
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| TokenRefusal::Malformed)?;
    Ok(serde_json::from_slice(&bytes).map_err(|_| TokenRefusal::Malformed)?)
}

/// The reason for a refusal by `jsonwebtoken`.
fn refusal(error: &jsonwebtoken::errors::Error) -> crate::Error {
    use jsonwebtoken::errors::ErrorKind as Jwt;
    let reason = match error.kind() {
        Jwt::InvalidSignature | Jwt::Crypto(_) => TokenRefusal::BadSignature,
        Jwt::ExpiredSignature => TokenRefusal::Expired,
        Jwt::ImmatureSignature => TokenRefusal::NotYetValid,
        Jwt::InvalidIssuer => TokenRefusal::WrongIssuer,
        Jwt::InvalidAudience => TokenRefusal::WrongAudience,
        Jwt::MissingRequiredClaim(claim) if claim == "aud" => TokenRefusal::WrongAudience,
        Jwt::MissingRequiredClaim(claim) if claim == "exp" => TokenRefusal::Expired,
        Jwt::MissingRequiredClaim(claim) if claim == "iss" => TokenRefusal::WrongIssuer,
        Jwt::InvalidAlgorithm | Jwt::MissingAlgorithm | Jwt::InvalidAlgorithmName => {
            TokenRefusal::AlgorithmNotAllowed
        }
        _ => TokenRefusal::Malformed,
    };
    ErrorKind::InvalidToken(reason).into()
}

#[cfg(test)]
mod tests;
