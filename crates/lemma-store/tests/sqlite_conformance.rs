use lemma_store::sqlite::SqliteStore;

#[tokio::test]
async fn sqlite_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("lemma.db")).unwrap();
    lemma_store::conformance::run_all(&store).await;
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lemma.db");
    use lemma_store::Store;
    let projects = {
        let store = SqliteStore::open(&path).unwrap();
        lemma_store::conformance::run_all(&store).await;
        store.list_projects().await.unwrap()
    };
    let store = SqliteStore::open(&path).unwrap();
    assert!(projects.len() >= 5, "{projects:?}");
    assert_eq!(store.list_projects().await.unwrap(), projects);
    let alpha = store.project_by_name("alpha").await.unwrap().unwrap();
    let run = store
        .get_run(alpha.id, &format!("{:032x}", 1))
        .await
        .unwrap();
    assert_eq!(run.unwrap().1.len(), 3);
}
