//! `Session`: a signed-in user, as a verified Supabase access token proves
//! it. Only `ExportClient.verify_session` and `ExportClient.authenticate`
//! make one (it has no constructor).

use chrono::{DateTime, Utc};
use pyo3::prelude::*;

/// A verified sign-in; pass it wherever a method takes `user`.
#[pyclass(module = "lora_export", frozen)]
pub struct Session {
    pub(crate) inner: lora_export::pg::Session,
}

#[pymethods]
impl Session {
    /// The user's id (the token's `sub`), as a string.
    #[getter]
    fn user_id(&self) -> String {
        self.inner.user_id().to_string()
    }

    /// The user's email, when the token carries one.
    #[getter]
    fn email(&self) -> Option<&str> {
        self.inner.email()
    }

    /// When the token expires (an aware UTC datetime).
    #[getter]
    fn expires_at(&self) -> DateTime<Utc> {
        self.inner.expires_at()
    }

    /// Whether the user signed in anonymously.
    #[getter]
    fn is_anonymous(&self) -> bool {
        self.inner.is_anonymous()
    }

    fn __repr__(&self) -> String {
        format!("Session(user_id='{}')", self.inner.user_id())
    }
}
