//! Proxy sessions: a parent span's grant to record model calls. A process that made a span
//! creates one and hands its base URLs to a subprocess; every call the subprocess makes through
//! Lemma's LLM proxy with them becomes a child of that span, in the session's project, with its
//! thread and user. Stores keep a session under the SHA-256 of its token, never the token.

use rand::RngCore;

use crate::ProjectId;

/// A live proxy session.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxySession {
    pub project: ProjectId,
    /// The run (W3C trace id, lowercase hex) the calls join; `None`: each call is a run of
    /// its own.
    pub trace_id: Option<String>,
    /// The span the calls nest under.
    pub parent_span_id: Option<String>,
    pub thread_id: Option<String>,
    pub user_id: Option<String>,
    pub created_at_unix_nano: u64,
    pub expires_at_unix_nano: u64,
}

/// The prefix of every proxy session token, so one found in a log is recognised.
pub const TOKEN_PREFIX: &str = "lps_";

/// A new random proxy session token: URL-safe, since it travels in base URLs.
pub fn new_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}
