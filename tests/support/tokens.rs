//! Supabase access tokens signed for the tests (HS256 with a test secret),
//! and a service config that verifies them.
#![allow(dead_code)]

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use lora_export::pg::ServiceConfig;
use serde_json::{json, Value};
use uuid::Uuid;

/// The project's JWT secret in the tests.
pub const SECRET: &str = "a-test-jwt-secret-of-at-least-32-characters";
/// The project URL in the tests: tokens are issued by `{PROJECT}/auth/v1`.
pub const PROJECT: &str = "https://abcdefghijklmnop.supabase.co";

/// `config` set to verify the tokens of [`token`].
pub fn verifying(config: &mut ServiceConfig) {
    config.supabase_url = Some(PROJECT.into());
    config.jwt_secret = Some(SECRET.into());
}

/// The claims Supabase's auth server writes for `user`, an hour valid.
pub fn claims(user: Uuid) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": format!("{PROJECT}/auth/v1"), "sub": user, "aud": "authenticated",
        "role": "authenticated", "email": format!("{user}@example.com"), "exp": now + 3600,
        "iat": now, "session_id": Uuid::new_v4(), "is_anonymous": false, "aal": "aal1",
        "app_metadata": { "provider": "email", "providers": ["email"] }, "user_metadata": {},
    })
}

/// `claims` signed with the test secret.
pub fn token(claims: &Value) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(SECRET.as_bytes()))
        .unwrap()
}
