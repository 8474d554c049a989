//! Tenant isolation at the store: every read and write with tenant B's scope treats tenant A's
//! ids exactly like ids that do not exist.

use steward_domain::*;
use steward_store::StoreError;

use crate::fixtures::*;

#[tokio::test]
async fn another_tenants_ids_read_as_missing() {
    let db = db().await;
    let s = &db.store;
    let a = tenant(s, "a").await;
    let b = tenant(s, "b").await;
    let m = model(s, &a, "fraud").await;
    let dv = dataset_version(s, &a, "transactions").await;
    let tx = s.begin_write().await.unwrap();
    let input = new_version(m.id, Some(TrainingRunRef::New(new_run(vec![dv.id], None))));
    let v = s
        .register_model_version(&tx, &a, "t", &input)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let run = v.training_run_id.unwrap();
    let page = PageRequest {
        first: 10,
        after: None,
    };

    assert!(s.model(&b, m.id).await.unwrap().is_none());
    assert!(s.model_by_name(&b, "fraud").await.unwrap().is_none());
    assert!(s.model_version(&b, v.id).await.unwrap().is_none());
    assert!(
        s.model_versions(&b, m.id, &page)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(s.dataset(&b, dv.dataset_id).await.unwrap().is_none());
    assert!(s.dataset_version(&b, dv.id).await.unwrap().is_none());
    assert!(
        s.dataset_versions(&b, dv.dataset_id, &page)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(s.training_run(&b, run).await.unwrap().is_none());
    assert!(
        s.list_models(&b, &ModelFilter::default(), &page)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(s.list_datasets(&b, &page).await.unwrap().items.is_empty());
    for id in [
        m.id.as_uuid(),
        v.id.as_uuid(),
        dv.id.as_uuid(),
        run.as_uuid(),
    ] {
        for dir in [
            LineageDirection::Upstream,
            LineageDirection::Downstream,
            LineageDirection::Both,
        ] {
            assert!(s.lineage(&b, id, dir, 10).await.unwrap().is_none());
        }
    }
}

#[tokio::test]
async fn writes_cannot_reach_another_tenants_records() {
    let db = db().await;
    let s = &db.store;
    let a = tenant(s, "a").await;
    let b = tenant(s, "b").await;
    let m = model(s, &a, "fraud").await;
    let v = version(s, &a, m.id).await;
    let dv = dataset_version(s, &a, "transactions").await;
    let tx = s.begin_write().await.unwrap();
    let cases: Vec<(&str, StoreError)> = vec![
        (
            "update",
            s.update_model(
                &tx,
                &b,
                m.id,
                &ModelUpdate {
                    description: Some("x".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err(),
        ),
        (
            "version",
            s.register_model_version(&tx, &b, "t", &new_version(m.id, None))
                .await
                .unwrap_err(),
        ),
        (
            "dataset version",
            s.register_dataset_version(&tx, &b, "t", &new_dataset_version(dv.dataset_id))
                .await
                .unwrap_err(),
        ),
        (
            "run input",
            s.record_training_run(&tx, &b, "t", &new_run(vec![dv.id], None))
                .await
                .unwrap_err(),
        ),
        (
            "run parent",
            s.record_training_run(&tx, &b, "t", &new_run(vec![], Some(v.id)))
                .await
                .unwrap_err(),
        ),
    ];
    for (what, err) in cases {
        assert!(matches!(err, StoreError::NotFound(_)), "{what}: {err}");
    }
    drop(tx);
    // Nothing of tenant A changed.
    let again = s.model(&a, m.id).await.unwrap().unwrap();
    assert_eq!(again.latest_version, 1);
    assert_eq!(again.description, "test model");
}
