//! [`Session`]: who a verified token says the user is, and [`Actor`]: what
//! a user operation accepts.

use chrono::{DateTime, Utc};
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
}

impl Session {
    pub(super) fn new(
        user_id: Uuid,
        email: Option<String>,
        expires_at: DateTime<Utc>,
        session_id: Option<String>,
        is_anonymous: bool,
        app_role: Option<String>,
    ) -> Session {
        Session { user_id, email, expires_at, session_id, is_anonymous, app_role }
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
}

/// Who a user operation runs for: a verified [`Session`], or a bare user id
/// for trusted server code (a worker, an admin tool) that knows the user by
/// other means. Never pass a user id taken from a request: verify its token.
///
/// ```
/// use lora_export::pg::Actor;
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
}

impl<T: Actor + ?Sized> Actor for &T {
    fn user_id(&self) -> Uuid {
        (**self).user_id()
    }

    fn is_admin(&self) -> bool {
        (**self).is_admin()
    }
}
