//! What moving a store's contents to another relies on (`lemma migrate`): keys imported as
//! they were, and counts of what a project holds that both sides agree on.

use lemma_core::MetricValue;
use serde_json::json;

use super::{log, metric};
use crate::keys::{hash_secret, hint};
use crate::{Counts, Credential, KeyScope, Store, StoreError, StoredKey};

fn stored_key(project: &str, public_key: &str, secret: &str) -> StoredKey {
    StoredKey {
        project: project.into(),
        public_key: public_key.into(),
        secret_hash: hash_secret(secret),
        hint: hint(secret),
        created_at_unix_nano: 1_600_000_000_123_456_789,
        revoked_at_unix_nano: None,
        scope: KeyScope::Read,
    }
}

/// A key imported from another store authenticates with its secret as there, is listed as it
/// was, and importing it again changes nothing but a revocation.
pub async fn import_key<S: Store>(store: &S) {
    let secret = "lm_imported-secret-one";
    let key = stored_key("beta", "pk-lm-imported-one", secret);
    let info = store.import_key(key.clone()).await.unwrap();
    assert_eq!(
        (
            info.project.as_str(),
            info.public_key.as_str(),
            info.hint.as_str()
        ),
        ("beta", "pk-lm-imported-one", "lm_impo…")
    );
    assert_eq!(info.created_at_unix_nano, key.created_at_unix_nano);
    assert!(!info.revoked);
    let by_key = Credential::Key(secret.into());
    let basic = |secret: &str| Credential::Basic {
        public_key: key.public_key.clone(),
        secret: secret.into(),
    };
    for credential in [&by_key, &basic(secret)] {
        let found = store.authenticate(credential).await.unwrap();
        assert_eq!(
            found.map(|g| (g.project.name, g.scope)),
            Some(("beta".into(), KeyScope::Read)),
            "imported with its scope"
        );
    }
    assert!(store
        .authenticate(&basic("lm_wrong"))
        .await
        .unwrap()
        .is_none());

    // Again: the same key, listed once.
    assert_eq!(store.import_key(key.clone()).await.unwrap(), info);
    let listed = store.list_keys(Some("beta")).await.unwrap();
    let imported: Vec<_> = listed
        .iter()
        .filter(|k| k.public_key == key.public_key)
        .collect();
    assert_eq!(imported, [&info]);

    // Another key's public key or secret, or a project the store lacks, is refused.
    let same_secret = stored_key("beta", "pk-lm-imported-two", secret);
    let same_public = stored_key("beta", "pk-lm-imported-one", "lm_another-secret");
    let elsewhere = stored_key("alpha", "pk-lm-imported-one", secret);
    for clash in [same_secret, same_public, elsewhere] {
        let got = store.import_key(clash.clone()).await;
        assert!(
            matches!(got, Err(StoreError::Conflict(_))),
            "{clash:?}: {got:?}"
        );
    }
    let nowhere = stored_key("no-such-project", "pk-lm-imported-three", "lm_third-secret");
    assert!(matches!(
        store.import_key(nowhere).await,
        Err(StoreError::NotFound(_))
    ));
    let blank = StoredKey {
        secret_hash: vec![1, 2, 3],
        ..stored_key("beta", "pk-lm-imported-four", "lm_fourth-secret")
    };
    assert!(matches!(
        store.import_key(blank).await,
        Err(StoreError::Invalid(_))
    ));

    // A key revoked there is revoked here, imported so or imported again so.
    let revoked = StoredKey {
        revoked_at_unix_nano: Some(1_600_000_001_000_000_000),
        ..stored_key("beta", "pk-lm-imported-five", "lm_fifth-secret")
    };
    assert!(store.import_key(revoked).await.unwrap().revoked);
    let fifth = Credential::Key("lm_fifth-secret".into());
    assert!(store.authenticate(&fifth).await.unwrap().is_none());
    let now_revoked = StoredKey {
        revoked_at_unix_nano: Some(1_600_000_002_000_000_000),
        ..key.clone()
    };
    assert!(store.import_key(now_revoked).await.unwrap().revoked);
    assert!(store.authenticate(&by_key).await.unwrap().is_none());
    assert!(
        store.import_key(key).await.unwrap().revoked,
        "stays revoked"
    );
}

/// Counts are of what reads see, after what `delete_run` (the check before) stored in its
/// projects: re-sent spans, events and records count once, a deleted run counts nothing.
pub async fn counts<S: Store>(store: &S) {
    let p = store.project_by_name("deleting").await.unwrap().unwrap().id;
    let q = store.project_by_name("keeping").await.unwrap().unwrap().id;
    let id = |trace: u8| format!("{trace:032x}");
    let counts = |spans, runs, metrics, logs| Counts {
        spans,
        runs,
        metrics,
        logs,
    };
    // Runs 70 (deleted once, then sent again with one log record) and 71, of two spans each.
    assert_eq!(store.counts(p).await.unwrap(), counts(4, 2, 0, 1));
    assert_eq!(store.counts(q).await.unwrap(), counts(2, 1, 0, 0));

    let (_, spans) = store.get_run(p, &id(71)).await.unwrap().unwrap();
    let again = spans.into_iter().map(|mut s| {
        s.logs.clear();
        (p, s)
    });
    let stats = store.write_spans(again.collect()).await.unwrap();
    assert_eq!((stats.inserted, stats.duplicates), (0, 2));
    let mut event = metric(71, "resolved", MetricValue::Bool(true), 5);
    event.id = "count-me-once".into();
    for _ in 0..2 {
        store.write_metrics(p, vec![event.clone()]).await.unwrap();
    }
    let record = log(71, 2, "gen_ai.choice", 6, json!({"content": "counted"}));
    store
        .write_logs(vec![(p, record.clone()), (p, record)])
        .await
        .unwrap();
    let evaluation = {
        let mut r = log(70, 1, "gen_ai.evaluation.result", 7, json!(null));
        r.attributes
            .insert("gen_ai.evaluation.name".into(), json!("relevance"));
        r.attributes
            .insert("gen_ai.evaluation.score.value".into(), json!(0.5));
        r
    };
    store.write_logs(vec![(p, evaluation)]).await.unwrap();
    // The evaluation result is a log record and, derived from it, a metric event.
    assert_eq!(store.counts(p).await.unwrap(), counts(4, 2, 2, 3));

    assert!(store.delete_run(p, &id(70)).await.unwrap());
    assert_eq!(store.counts(p).await.unwrap(), counts(2, 1, 1, 1));
    assert_eq!(store.counts(q).await.unwrap(), counts(2, 1, 0, 0));
}
