//! Users, roles and sessions: the same answers from every store.

use crate::users::{hash_password, hash_token, new_tokens};
use crate::{ProjectId, Role, Session, Store, StoreError};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

const HOUR: u64 = 3_600_000_000_000;

async fn sign_in<S: Store>(store: &S, user: &str) -> Vec<u8> {
    let (token, csrf) = new_tokens();
    let hash = hash_token(&token);
    let at = now();
    let session = Session {
        user: user.into(),
        csrf,
        created_at_unix_nano: at,
        expires_at_unix_nano: at + HOUR,
    };
    store.create_session(&hash, &session).await.unwrap();
    let read = store.session(&hash, now()).await.unwrap();
    assert_eq!(read, Some(session), "a session reads back as made");
    hash
}

async fn roles<S: Store>(store: &S, user: &str) -> Vec<(String, Role)> {
    store
        .memberships(user)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.project.name, m.role))
        .collect()
}

pub async fn users<S: Store>(store: &S, a: ProjectId, b: ProjectId) {
    let hash = hash_password("first password").unwrap();
    let ada = store.create_user("ada", &hash).await.unwrap();
    assert_eq!(ada.name, "ada");
    assert!(matches!(
        store.create_user("ada", &hash).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_user("not valid", &hash).await,
        Err(StoreError::Invalid(_))
    ));
    store.create_user("bob", &hash).await.unwrap();
    let names: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["ada", "bob"]);
    assert_eq!(
        store.password_hash("ada").await.unwrap(),
        Some(hash.clone())
    );
    assert_eq!(store.password_hash("nobody").await.unwrap(), None);

    // Roles, per project.
    store.set_role("ada", a, Some(Role::Viewer)).await.unwrap();
    store.set_role("ada", a, Some(Role::Admin)).await.unwrap();
    store.set_role("ada", b, Some(Role::Viewer)).await.unwrap();
    store.set_role("bob", a, Some(Role::Member)).await.unwrap();
    assert!(matches!(
        store.set_role("nobody", a, Some(Role::Admin)).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        roles(store, "ada").await,
        [
            ("alpha".to_string(), Role::Admin),
            ("beta".to_string(), Role::Viewer)
        ]
    );
    let members: Vec<(String, Role)> = store
        .members(a)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user, m.role))
        .collect();
    assert_eq!(
        members,
        [
            ("ada".to_string(), Role::Admin),
            ("bob".to_string(), Role::Member)
        ]
    );
    store.set_role("ada", b, None).await.unwrap();
    assert_eq!(
        roles(store, "ada").await,
        [("alpha".to_string(), Role::Admin)]
    );
    assert!(store.members(b).await.unwrap().is_empty());

    // Sessions: live until they expire, are deleted, or the password changes.
    let first = sign_in(store, "ada").await;
    assert!(
        store
            .session(&first, now() + 2 * HOUR)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(store
        .session(&hash_token("unknown"), now())
        .await
        .unwrap()
        .is_none());
    store.delete_session(&first).await.unwrap();
    assert!(
        store.session(&first, now()).await.unwrap().is_none(),
        "signed out"
    );
    let second = sign_in(store, "ada").await;
    let other = sign_in(store, "bob").await;
    let new_hash = hash_password("second password").unwrap();
    assert!(store.set_password("ada", &new_hash).await.unwrap());
    assert!(!store.set_password("nobody", &new_hash).await.unwrap());
    assert_eq!(store.password_hash("ada").await.unwrap(), Some(new_hash));
    assert!(
        store.session(&second, now()).await.unwrap().is_none(),
        "a password change ends the user's sessions"
    );
    assert!(
        store.session(&other, now()).await.unwrap().is_some(),
        "not others'"
    );
    let third = sign_in(store, "ada").await;

    // Deleting a user ends everything of theirs.
    assert!(store.delete_user("ada").await.unwrap());
    assert!(!store.delete_user("ada").await.unwrap());
    assert!(store.session(&third, now()).await.unwrap().is_none());
    assert_eq!(store.password_hash("ada").await.unwrap(), None);
    assert!(roles(store, "ada").await.is_empty());
    let members: Vec<String> = store
        .members(a)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.user)
        .collect();
    assert_eq!(members, ["bob"]);
    assert!(matches!(
        store.set_role("ada", a, Some(Role::Admin)).await,
        Err(StoreError::NotFound(_))
    ));
    // The name can be taken again, with nothing of the old user.
    store.create_user("ada", &hash).await.unwrap();
    assert!(roles(store, "ada").await.is_empty());
    assert!(store.session(&third, now()).await.unwrap().is_none());
}
