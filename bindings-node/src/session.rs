//! `Session`: a signed-in user, as a verified Supabase access token proves
//! it. Only `client.verifySession()` and `client.authenticate()` make one
//! (the class has no constructor), so a `Session` passed to a user
//! operation is always a verified one.

use napi_derive::napi;

/// A verified sign-in. Pass it wherever a method takes `user`.
#[napi]
pub struct Session {
    pub(crate) inner: lora_export::pg::Session,
}

#[napi]
impl Session {
    /// The user's id (the token's `sub`).
    #[napi(getter)]
    pub fn user_id(&self) -> String {
        self.inner.user_id().to_string()
    }

    /// The user's email, when the token carries one.
    #[napi(getter)]
    pub fn email(&self) -> Option<String> {
        self.inner.email().map(str::to_owned)
    }

    /// When the token expires (RFC 3339).
    #[napi(getter)]
    pub fn expires_at(&self) -> String {
        self.inner.expires_at().to_rfc3339()
    }

    /// Whether the user signed in anonymously.
    #[napi(getter)]
    pub fn is_anonymous(&self) -> bool {
        self.inner.is_anonymous()
    }

    /// The token's `app_metadata.role` (which only the project can set), if any.
    #[napi(getter)]
    pub fn app_role(&self) -> Option<String> {
        self.inner.app_role().map(str::to_owned)
    }

    /// Whether `app_metadata.role` is `admin`: may read every user's audit trail.
    #[napi(getter)]
    pub fn is_admin(&self) -> bool {
        lora_export::pg::Actor::is_admin(&self.inner)
    }
}

impl crate::reply::IntoJs for Session {
    fn into_js(self, env: &napi::Env) -> napi::Result<napi::sys::napi_value> {
        // SAFETY: `env` is the live environment of the current call.
        unsafe { <Session as napi::bindgen_prelude::ToNapiValue>::to_napi_value(env.raw(), self) }
    }
}
