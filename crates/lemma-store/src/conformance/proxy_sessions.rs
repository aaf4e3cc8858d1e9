//! Proxy sessions: the same answers from every store.

use crate::proxy_sessions::new_token;
use crate::users::hash_token;
use crate::{ProjectId, ProxySession, Store};

const HOUR: u64 = 3_600_000_000_000;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

pub async fn proxy_sessions<S: Store>(store: &S, a: ProjectId, b: ProjectId) {
    let at = now();
    let bound = ProxySession {
        project: a,
        trace_id: Some("0af7651916cd43dd8448eb211c80319c".into()),
        parent_span_id: Some("b7ad6b7169203331".into()),
        thread_id: Some("thread-1".into()),
        user_id: Some("user-1".into()),
        created_at_unix_nano: at,
        expires_at_unix_nano: at + HOUR,
    };
    let hash = hash_token(&new_token());
    store.create_proxy_session(&hash, &bound).await.unwrap();
    assert_eq!(
        store.proxy_session(&hash, now()).await.unwrap(),
        Some(bound.clone()),
        "a session reads back as made"
    );
    assert_eq!(
        store.proxy_session(&hash, at + 2 * HOUR).await.unwrap(),
        None,
        "an expired session is no session"
    );
    assert_eq!(
        store
            .proxy_session(&hash_token("lps_unknown"), now())
            .await
            .unwrap(),
        None
    );

    // Without a parent, thread or user: absent values read back absent, not empty.
    let loose = ProxySession {
        project: b,
        trace_id: None,
        parent_span_id: None,
        thread_id: None,
        user_id: None,
        ..bound.clone()
    };
    let loose_hash = hash_token(&new_token());
    store
        .create_proxy_session(&loose_hash, &loose)
        .await
        .unwrap();
    assert_eq!(
        store.proxy_session(&loose_hash, now()).await.unwrap(),
        Some(loose)
    );

    // Only its own project ends a session, once.
    assert!(!store.end_proxy_session(b, &hash).await.unwrap());
    assert!(store.proxy_session(&hash, now()).await.unwrap().is_some());
    assert!(store.end_proxy_session(a, &hash).await.unwrap());
    assert_eq!(store.proxy_session(&hash, now()).await.unwrap(), None);
    assert!(!store.end_proxy_session(a, &hash).await.unwrap());
    assert!(store
        .proxy_session(&loose_hash, now())
        .await
        .unwrap()
        .is_some());
}
