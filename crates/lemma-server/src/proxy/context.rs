//! What a proxied call is recorded under: its project, the span it nests under, its thread and
//! user. From the proxy session in the URL, or the Lemma key and headers of the call itself.

use axum::http::HeaderMap;
use lemma_store::ProxySession;

/// A W3C trace context parent: the run and the span a call nests under.
#[derive(Debug, Clone, PartialEq)]
pub struct Parent {
    pub trace_id: String,
    pub span_id: String,
}

impl Parent {
    /// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`; all-zero ids are invalid.
    pub fn parse(traceparent: &str) -> Option<Parent> {
        let mut parts = traceparent.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
        let valid = hex(version, 2)
            && version != "ff"
            && hex(trace, 32)
            && hex(span, 16)
            && hex(flags, 2)
            && trace.bytes().any(|b| b != b'0')
            && span.bytes().any(|b| b != b'0')
            // Version 00 has exactly four fields; later versions may add more.
            && (version != "00" || parts.next().is_none());
        valid.then(|| Parent {
            trace_id: trace.to_ascii_lowercase(),
            span_id: span.to_ascii_lowercase(),
        })
    }
}

/// Headers a call may carry to set its thread and user when no session does.
pub const THREAD_HEADER: &str = "x-lemma-thread";
pub const USER_HEADER: &str = "x-lemma-user";

/// What a call nests under.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Binding {
    pub parent: Option<Parent>,
    pub thread_id: Option<String>,
    pub user_id: Option<String>,
}

impl Binding {
    /// What a proxy session binds its calls to.
    pub fn of_session(session: &ProxySession) -> Binding {
        let parent = match (&session.trace_id, &session.parent_span_id) {
            (Some(trace_id), Some(span_id)) => Some(Parent {
                trace_id: trace_id.clone(),
                span_id: span_id.clone(),
            }),
            _ => None,
        };
        Binding {
            parent,
            thread_id: session.thread_id.clone(),
            user_id: session.user_id.clone(),
        }
    }

    /// The binding with the call's own headers over it: a `traceparent` it carries wins over
    /// its session's parent (a child process with its own instrumentation knows its span
    /// best), and so do its thread and user headers.
    pub fn with_headers(self, headers: &HeaderMap) -> Binding {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        Binding {
            parent: header("traceparent")
                .and_then(|t| Parent::parse(&t))
                .or(self.parent),
            thread_id: header(THREAD_HEADER).or(self.thread_id),
            user_id: header(USER_HEADER).or(self.user_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn traceparents_are_read_as_w3c_defines_them() {
        let p = Parent::parse(TP).unwrap();
        assert_eq!(p.trace_id, "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(p.span_id, "b7ad6b7169203331");
        // Upper-case hex is read, and kept as lower case.
        let upper = Parent::parse(&TP.to_uppercase()).unwrap();
        assert_eq!(upper, p);
        for bad in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "00-zaf7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ] {
            assert_eq!(Parent::parse(bad), None, "{bad:?}");
        }
        // A later version may carry more fields.
        assert!(Parent::parse(&format!("01{}-more", &TP[2..])).is_some());
    }

    #[test]
    fn a_calls_own_headers_win_over_its_session() {
        let session = ProxySession {
            project: lemma_store::ProjectId(1),
            trace_id: Some("11111111111111111111111111111111".into()),
            parent_span_id: Some("2222222222222222".into()),
            thread_id: Some("session-thread".into()),
            user_id: Some("session-user".into()),
            created_at_unix_nano: 0,
            expires_at_unix_nano: u64::MAX,
        };
        let plain = Binding::of_session(&session).with_headers(&HeaderMap::new());
        assert_eq!(plain.parent.unwrap().span_id, "2222222222222222");
        assert_eq!(plain.thread_id.as_deref(), Some("session-thread"));

        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_static(TP));
        headers.insert(THREAD_HEADER, HeaderValue::from_static("own-thread"));
        let own = Binding::of_session(&session).with_headers(&headers);
        assert_eq!(own.parent.unwrap().span_id, "b7ad6b7169203331");
        assert_eq!(own.thread_id.as_deref(), Some("own-thread"));
        assert_eq!(own.user_id.as_deref(), Some("session-user"));

        let alone = Binding::default().with_headers(&HeaderMap::new());
        assert_eq!(alone, Binding::default());
        let unbound = ProxySession {
            trace_id: None,
            parent_span_id: None,
            ..session
        };
        assert_eq!(Binding::of_session(&unbound).parent, None);
    }
}
