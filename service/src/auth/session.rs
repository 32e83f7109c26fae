//! [`Session`]: who a verified token says the user is, and [`Actor`]: what
//! a user operation accepts.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// A signed-in user, as a verified access token proves it. Only
/// [`SignIn`](super::SignIn) makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    user_id: Uuid,
    email: Option<String>,
    expires_at: DateTime<Utc>,
    session_id: Option<String>,
    is_anonymous: bool,
    app_role: Option<String>,
    claims: Arc<Value>,
}

impl Session {
    pub(super) fn new(
        user_id: Uuid,
        email: Option<String>,
        expires_at: DateTime<Utc>,
        session_id: Option<String>,
        is_anonymous: bool,
        app_role: Option<String>,
        claims: Value,
    ) -> Session {
        let claims = Arc::new(claims);
        Session { user_id, email, expires_at, session_id, is_anonymous, app_role, claims }
    }

    /// The user (`sub`).
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// The user's email, when the token carries one.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// When the token expires (`exp`).
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// Supabase's session id (`session_id`), when present.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// Whether the user signed in anonymously (`is_anonymous`).
    pub fn is_anonymous(&self) -> bool {
        self.is_anonymous
    }

    /// The token's `app_metadata.role`, when it has one. Supabase lets only
    /// the service role (or a custom access token hook) set `app_metadata`;
    /// a user cannot change it, unlike `user_metadata`.
    pub fn app_role(&self) -> Option<&str> {
        self.app_role.as_deref()
    }

    /// Every claim of the verified token, as PostgREST sets them in
    /// `request.jwt.claims` for the app's own policies (`auth.jwt()`).
    pub fn claims(&self) -> &Value {
        &self.claims
    }
}

/// Who a user operation runs for: a verified [`Session`], or a bare user id
/// for trusted server code (a worker, an admin tool) that knows the user by
/// other means. Never pass a user id taken from a request: verify its token.
///
/// ```
/// use lora_export_service::Actor;
/// let id = uuid::Uuid::nil();
/// assert_eq!(id.user_id(), id);
/// ```
pub trait Actor {
    /// The user the operation runs for.
    fn user_id(&self) -> Uuid;

    /// Whether the user may read every user's audit trail: a [`Session`]
    /// whose `app_metadata.role` is `admin`; never a bare user id.
    fn is_admin(&self) -> bool {
        false
    }

    /// Whether the user signed in anonymously (a [`Session`] whose token
    /// says `is_anonymous`); never a bare user id. The service refuses such
    /// a user unless `allow_anonymous` is set.
    fn is_anonymous(&self) -> bool {
        false
    }

    /// The verified token's claims, which the user's transactions carry
    /// (`request.jwt.claims`) as PostgREST's do; `None` for a bare user id,
    /// whose transactions carry only `sub` and `role`.
    fn claims(&self) -> Option<&Value> {
        None
    }
}

/// An owned [`Actor`] of either kind, for code that keeps one past a call
/// (the Node and Python bindings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A verified session.
    Session(Session),
    /// A user id that trusted server code vouches for.
    User(Uuid),
}

impl Actor for Caller {
    fn user_id(&self) -> Uuid {
        match self {
            Caller::Session(session) => session.user_id(),
            Caller::User(id) => *id,
        }
    }

    fn is_admin(&self) -> bool {
        matches!(self, Caller::Session(session) if session.is_admin())
    }

    fn is_anonymous(&self) -> bool {
        matches!(self, Caller::Session(session) if session.is_anonymous)
    }

    fn claims(&self) -> Option<&Value> {
        match self {
            Caller::Session(session) => Some(session.claims()),
            Caller::User(_) => None,
        }
    }
}

impl Actor for Uuid {
    fn user_id(&self) -> Uuid {
        *self
    }
}

impl Actor for Session {
    fn user_id(&self) -> Uuid {
        self.user_id
    }

    fn is_admin(&self) -> bool {
        self.app_role.as_deref() == Some("admin")
    }

    fn is_anonymous(&self) -> bool {
        self.is_anonymous
    }

    fn claims(&self) -> Option<&Value> {
        Some(&self.claims)
    }
}

impl<T: Actor + ?Sized> Actor for &T {
    fn user_id(&self) -> Uuid {
        (**self).user_id()
    }

    fn is_admin(&self) -> bool {
        (**self).is_admin()
    }

    fn is_anonymous(&self) -> bool {
        (**self).is_anonymous()
    }

    fn claims(&self) -> Option<&Value> {
        (**self).claims()
    }
}
