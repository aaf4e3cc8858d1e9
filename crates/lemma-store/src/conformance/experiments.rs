//! Datasets, experiments and the runs that answered their cases: the same in every store.

use lemma_core::experiments::{Case, CaseRun, DatasetVersion, Experiment};
use serde_json::json;

use super::{run_ids, span};
use crate::{Store, StoreError};

const SECOND: u64 = 1_000_000_000;
const BASE: u64 = 4_000 * 3_600 * SECOND;

fn version(cases: Vec<Case>) -> DatasetVersion {
    DatasetVersion {
        name: "support".into(),
        description: "questions customers ask".into(),
        version: 0,
        created_at_unix_nano: 0,
        cases,
    }
}

fn case(id: &str, input: &str) -> Case {
    Case {
        id: id.into(),
        input: json!({"question": input}),
        expected: Some(json!("ok")),
        metadata: [("tier".to_string(), json!("gold"))].into_iter().collect(),
        tags: vec!["smoke".into()],
    }
}

fn experiment(name: &str, version: u32) -> Experiment {
    Experiment {
        name: name.into(),
        dataset: "support".into(),
        dataset_version: version,
        description: String::new(),
        metadata: [("model".to_string(), json!("gpt-4o"))]
            .into_iter()
            .collect(),
        created_at_unix_nano: 0,
    }
}

fn run_id(trace: u8) -> String {
    format!("{trace:032x}")
}

pub async fn experiments<S: Store>(store: &S) {
    let p = store.create_project("experimenting").await.unwrap().id;
    let q = store.create_project("not-experimenting").await.unwrap().id;

    // Version 1, then 2; both read back, the latest by default.
    let v1 = store
        .put_dataset(
            p,
            version(vec![case("a", "Where is my order?"), case("", "Refund?")]),
            0,
        )
        .await
        .unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(v1.cases[1].id, "case-1", "ids assigned");
    assert!(v1.created_at_unix_nano > 0);
    let v2 = store
        .put_dataset(
            p,
            version(vec![case("a", "Where is my order now?"), case("b", "Hi")]),
            1,
        )
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(
        store.dataset(p, "support", None).await.unwrap(),
        Some(v2.clone())
    );
    assert_eq!(
        store.dataset(p, "support", Some(1)).await.unwrap(),
        Some(v1.clone())
    );
    assert_eq!(store.dataset(p, "support", Some(3)).await.unwrap(), None);
    assert_eq!(
        store.dataset(q, "support", None).await.unwrap(),
        None,
        "per project"
    );

    // A change over an older version, or a new dataset over an existing name, is refused.
    assert!(matches!(
        store.put_dataset(p, version(vec![case("a", "x")]), 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.put_dataset(p, version(vec![case("a", "x")]), 0).await,
        Err(StoreError::Conflict(_))
    ));
    match store
        .put_dataset(p, version(vec![Case::default()]), 2)
        .await
    {
        Err(StoreError::Invalid(m)) => assert!(m.contains("no input"), "{m}"),
        other => panic!("{other:?}"),
    }
    let listed = store.list_datasets(p).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].version, listed[0].cases), (2, 2));
    assert_eq!(listed[0].description, "questions customers ask");
    assert!(store.list_datasets(q).await.unwrap().is_empty());

    // Experiments over versions; names unique per project.
    let e1 = store
        .create_experiment(p, experiment("baseline", 1))
        .await
        .unwrap();
    assert!(e1.created_at_unix_nano > 0);
    store
        .create_experiment(p, experiment("candidate", 2))
        .await
        .unwrap();
    assert!(matches!(
        store.create_experiment(p, experiment("baseline", 2)).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_experiment(p, experiment("later", 9)).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.experiment(p, "baseline").await.unwrap(),
        Some(e1.clone())
    );
    assert_eq!(store.experiment(q, "baseline").await.unwrap(), None);
    let names: Vec<String> = store
        .list_experiments(p, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"candidate".to_string()));
    assert_eq!(
        store.list_experiments(p, Some("other")).await.unwrap(),
        vec![]
    );

    // Runs answer cases; a case linked again keeps its latest run.
    for trace in [61u8, 62, 63, 64] {
        store
            .write_spans(vec![(
                p,
                span(
                    trace,
                    1,
                    None,
                    "agent",
                    BASE + u64::from(trace) * SECOND,
                    json!({}),
                ),
            )])
            .await
            .unwrap();
    }
    let link = |c: &str, t: u8| CaseRun {
        case_id: c.into(),
        run_id: run_id(t),
    };
    store
        .link_runs(p, "baseline", &[link("a", 61), link("case-1", 62)])
        .await
        .unwrap();
    store
        .link_runs(p, "candidate", &[link("a", 63), link("b", 63)])
        .await
        .unwrap();
    store
        .link_runs(p, "candidate", &[link("a", 64)])
        .await
        .unwrap();
    assert_eq!(
        store.experiment_runs(p, "candidate").await.unwrap(),
        vec![link("a", 64), link("b", 63)]
    );
    assert!(matches!(
        store.link_runs(p, "nope", &[link("a", 61)]).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.link_runs(q, "baseline", &[link("a", 61)]).await,
        Err(StoreError::NotFound(_))
    ));
    let bad = CaseRun {
        case_id: "a".into(),
        run_id: "not-a-run".into(),
    };
    assert!(matches!(
        store.link_runs(p, "baseline", &[bad]).await,
        Err(StoreError::Invalid(_))
    ));

    // The query language finds runs by experiment, dataset and case.
    assert_eq!(
        run_ids(store, p, "experiment:baseline").await,
        [run_id(62), run_id(61)]
    );
    assert_eq!(
        run_ids(store, p, "experiment:cand*").await,
        [run_id(64), run_id(63)]
    );
    assert_eq!(
        run_ids(store, p, "dataset:support").await,
        [run_id(64), run_id(63), run_id(62), run_id(61)]
    );
    assert_eq!(run_ids(store, p, "case:a").await, [run_id(64), run_id(61)]);
    assert_eq!(
        run_ids(store, p, "case:b -experiment:baseline").await,
        [run_id(63)]
    );
    assert!(run_ids(store, q, "dataset:support").await.is_empty());

    // Deleting the dataset keeps its experiments and their runs.
    assert!(store.delete_dataset(p, "support").await.unwrap());
    assert!(!store.delete_dataset(p, "support").await.unwrap());
    assert_eq!(store.dataset(p, "support", Some(1)).await.unwrap(), None);
    assert!(store.experiment(p, "baseline").await.unwrap().is_some());
    assert_eq!(store.experiment_runs(p, "baseline").await.unwrap().len(), 2);
}
