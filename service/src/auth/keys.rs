//! The project's public signing keys (a JWKS): given as JSON, or fetched
//! from its URL, cached, and refetched when a token names an unknown `kid`.

use lora_export_core::ErrorKind as CoreKind;
use std::collections::HashMap;
use std::io::Read;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::Mutex;

use crate::{Error, Result, TokenRefusal};

/// Cached keys are refetched after this long.
const MAX_AGE: Duration = Duration::from_secs(600);
/// An unknown `kid` triggers at most one fetch per this interval, so tokens
/// with made-up key ids cannot make the service hammer the JWKS endpoint.
pub(super) const MIN_REFRESH: Duration = Duration::from_secs(5);
/// A JWKS larger than this is refused.
const MAX_BYTES: u64 = 1 << 20;
/// Time allowed for a JWKS fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

type Keys = HashMap<String, (Algorithm, DecodingKey)>;

pub(super) struct KeyStore {
    url: Option<String>,
    /// The cache; locked only to read or replace it, never across a fetch,
    /// so sign-ins with a known key never wait for the JWKS endpoint.
    state: std::sync::Mutex<State>,
    /// Held by the one request that fetches; a request for an unknown key
    /// waits here for a fetch under way instead of starting another.
    fetching: Mutex<()>,
}

#[derive(Default)]
struct State {
    keys: Keys,
    fetched_at: Option<Instant>,
    tried_at: Option<Instant>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore").field("url", &self.url).finish_non_exhaustive()
    }
}

impl KeyStore {
    /// Keys given as JWKS JSON; never refetched.
    pub(super) fn fixed(json: &str) -> Result<KeyStore> {
        let keys = parse(json).map_err(|e| CoreKind::Config(format!("jwks_json: {e}")))?;
        if keys.is_empty() {
            return Err(CoreKind::Config(
                "jwks_json has no ES256 (P-256) or RS256 signing key with a `kid`".into(),
            )
            .into());
        }
        let state = State { keys, ..State::default() };
        Ok(KeyStore { url: None, state: std::sync::Mutex::new(state), fetching: Mutex::new(()) })
    }

    /// Keys fetched from `url` when first needed.
    pub(super) fn fetched(url: String) -> KeyStore {
        let state = std::sync::Mutex::new(State::default());
        KeyStore { url: Some(url), state, fetching: Mutex::new(()) }
    }

    /// The algorithm and key of `kid`, refetching the JWKS when the cache is
    /// old or does not know `kid` (at most once per `MIN_REFRESH`). A known
    /// key is answered from the cache while a fetch is under way; a fetch
    /// that fails or finds no usable key keeps the cached keys.
    pub(super) async fn find(&self, kid: &str) -> Result<(Algorithm, DecodingKey)> {
        let Some(url) = &self.url else { return self.cached(kid) };
        let (known, old) = {
            let state = self.state();
            (state.keys.contains_key(kid), is_old(&state, Instant::now()))
        };
        if known && !old {
            return self.cached(kid);
        }
        let _fetching = if known {
            // An old cache is refreshed by one request; the others use it.
            match self.fetching.try_lock() {
                Ok(guard) => guard,
                Err(_) => return self.cached(kid),
            }
        } else {
            self.fetching.lock().await
        };
        let now = Instant::now();
        {
            let mut state = self.state();
            let unknown = !state.keys.contains_key(kid);
            let may_try = state.tried_at.map_or(true, |at| now - at > MIN_REFRESH);
            if !((is_old(&state, now) || unknown) && may_try) {
                drop(state);
                return self.cached(kid);
            }
            state.tried_at = Some(now);
        }
        let fetched = fetch(url.clone()).await.and_then(|keys| {
            if keys.is_empty() {
                Err("it has no ES256 (P-256) or RS256 signing key with a `kid`".to_owned())
            } else {
                Ok(keys)
            }
        });
        let mut state = self.state();
        match fetched {
            Ok(keys) => {
                state.keys = keys;
                state.fetched_at = Some(now);
            }
            Err(detail) if state.keys.is_empty() => {
                return Err(Error::internal(
                    "AUTH_KEYS_UNAVAILABLE",
                    format!("fetching the JWKS at {url} failed: {detail}"),
                ));
            }
            Err(_) => {}
        }
        drop(state);
        self.cached(kid)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cached(&self, kid: &str) -> Result<(Algorithm, DecodingKey)> {
        self.state().keys.get(kid).cloned().ok_or_else(|| TokenRefusal::UnknownKey.into())
    }
}

/// Whether the fetched keys are older than `MAX_AGE` (or were never fetched).
fn is_old(state: &State, now: Instant) -> bool {
    state.fetched_at.map_or(true, |at| now - at > MAX_AGE)
}

async fn fetch(url: String) -> std::result::Result<Keys, String> {
    let body = tokio::task::spawn_blocking(move || -> std::result::Result<String, String> {
        let response = ureq::get(&url).timeout(FETCH_TIMEOUT).call().map_err(|e| e.to_string())?;
        let mut body = String::new();
        response
            .into_reader()
            .take(MAX_BYTES + 1)
            .read_to_string(&mut body)
            .map_err(|e| e.to_string())?;
        if body.len() as u64 > MAX_BYTES {
            return Err(format!("the JWKS is larger than {MAX_BYTES} bytes"));
        }
        Ok(body)
    })
    .await
    .map_err(|e| e.to_string())??;
    parse(&body)
}

/// The usable signing keys of a JWKS: EC P-256 keys as ES256 and RSA keys
/// as RS256, each with a `kid`, not marked for encryption, and whose `alg`
/// (when given) agrees. Other keys (HMAC `oct` keys above all: a public
/// document must never hold a shared secret) are left out.
fn parse(json: &str) -> std::result::Result<Keys, String> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_str(json).map_err(|e| format!("not a JWKS: {e}"))?;
    let mut keys = Keys::new();
    for value in set.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else { continue };
        let Some(kid) = jwk.common.key_id.clone() else { continue };
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let algorithm = match &jwk.algorithm {
            AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            _ => continue,
        };
        let stated = jwk.common.key_algorithm;
        let agrees = match stated {
            None => true,
            Some(KeyAlgorithm::ES256) => algorithm == Algorithm::ES256,
            Some(KeyAlgorithm::RS256) => algorithm == Algorithm::RS256,
            Some(_) => false,
        };
        if !agrees {
            continue;
        }
        if let Ok(key) = DecodingKey::from_jwk(&jwk) {
            keys.insert(kid, (algorithm, key));
        }
    }
    Ok(keys)
}
