//! Registry behaviour: durability settings, version numbering, immutability, filters, pages and
//! all-or-nothing writes.

use std::collections::HashSet;

use steward_domain::*;
use steward_store::{Backend, StoreError};

use crate::fixtures::*;

#[tokio::test]
async fn sqlite_is_opened_durable() {
    let db = steward_store::testing::TestDb::sqlite().await;
    let s = &db.store;
    assert_eq!(s.backend(), Backend::Sqlite);
    assert_eq!(
        s.sqlite_pragma("journal_mode").await.unwrap().as_deref(),
        Some("wal")
    );
    // 2 = FULL: every commit is fsynced before it is acknowledged.
    assert_eq!(
        s.sqlite_pragma("synchronous").await.unwrap().as_deref(),
        Some("2")
    );
    assert_eq!(
        s.sqlite_pragma("foreign_keys").await.unwrap().as_deref(),
        Some("1")
    );
}

#[tokio::test]
async fn concurrent_registrations_get_distinct_consecutive_numbers() {
    let db = db().await;
    let scope = tenant(&db.store, "acme").await;
    let m = model(&db.store, &scope, "fraud").await;
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            version(&store, &scope, m.id).await.version
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort();
    assert_eq!(numbers, (1..=24).collect::<Vec<i64>>());
    let again = db.store.model(&scope, m.id).await.unwrap().unwrap();
    assert_eq!(again.latest_version, 24);
}

#[tokio::test]
async fn a_failed_registration_leaves_nothing_and_burns_no_number() {
    let db = db().await;
    let s = &db.store;
    let scope = tenant(s, "acme").await;
    let m = model(s, &scope, "fraud").await;
    let missing = DatasetVersionId::generate();
    let tx = s.begin_write().await.unwrap();
    let err = s
        .register_model_version(
            &tx,
            &scope,
            "tester",
            &new_version(
                m.id,
                Some(TrainingRunRef::New(new_run(vec![missing], None))),
            ),
        )
        .await
        .unwrap_err();
    drop(tx);
    assert!(
        matches!(err, StoreError::NotFound("dataset version")),
        "{err}"
    );
    let page = PageRequest {
        first: 10,
        after: None,
    };
    assert!(
        s.model_versions(&scope, m.id, &page)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(version(s, &scope, m.id).await.version, 1);
}

#[tokio::test]
async fn a_training_run_produces_one_version_only() {
    let db = db().await;
    let s = &db.store;
    let scope = tenant(s, "acme").await;
    let m = model(s, &scope, "fraud").await;
    let tx = s.begin_write().await.unwrap();
    let run = s
        .record_training_run(&tx, &scope, "t", &new_run(vec![], None))
        .await
        .unwrap();
    s.register_model_version(
        &tx,
        &scope,
        "t",
        &new_version(m.id, Some(TrainingRunRef::Existing(run.id))),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let tx = s.begin_write().await.unwrap();
    let err = s
        .register_model_version(
            &tx,
            &scope,
            "t",
            &new_version(m.id, Some(TrainingRunRef::Existing(run.id))),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
}

#[tokio::test]
async fn versions_and_runs_read_back_as_written() {
    let db = db().await;
    let s = &db.store;
    let scope = tenant(s, "acme").await;
    let m = model(s, &scope, "fraud").await;
    let dv = dataset_version(s, &scope, "transactions").await;
    let tx = s.begin_write().await.unwrap();
    let input = new_version(m.id, Some(TrainingRunRef::New(new_run(vec![dv.id], None))));
    let v = s
        .register_model_version(&tx, &scope, "alice", &input)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let back = s.model_version(&scope, v.id).await.unwrap().unwrap();
    assert_eq!(back, v);
    assert_eq!(back.metrics["auc"], 0.91);
    assert_eq!(back.created_by, "alice");
    let run = s
        .training_run(&scope, back.training_run_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.input_dataset_versions, vec![dv.id]);
    assert_eq!(run.parameters["eta"], serde_json::json!(0.1));
    assert_eq!(s.dataset_version(&scope, dv.id).await.unwrap().unwrap(), dv);
}

#[tokio::test]
async fn duplicate_names_conflict_within_a_tenant_only() {
    let db = db().await;
    let s = &db.store;
    let a = tenant(s, "a").await;
    let b = tenant(s, "b").await;
    model(s, &a, "fraud").await;
    model(s, &b, "fraud").await;
    let tx = s.begin_write().await.unwrap();
    let err = s
        .create_model(&tx, &a, "t", &new_model("fraud"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("fraud")),
        "{err}"
    );
}

#[tokio::test]
async fn models_filter_and_paginate() {
    let db = db().await;
    let s = &db.store;
    let scope = tenant(s, "acme").await;
    for name in [
        "churn",
        "fraud-eu",
        "fraud-us",
        "fraud_x",
        "fraudulent",
        "credit",
    ] {
        model(s, &scope, name).await;
    }
    let tx = s.begin_write().await.unwrap();
    let churn = s.model_by_name(&scope, "churn").await.unwrap().unwrap();
    s.update_model(
        &tx,
        &scope,
        churn.id,
        &ModelUpdate {
            risk_tier: Some(RiskTier::Low),
            tags: Some(vec!["retention".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let names = |p: Page<Model>| p.items.into_iter().map(|m| m.name).collect::<Vec<_>>();
    let all = ModelFilter::default();
    let prefix = ModelFilter {
        name_prefix: Some("fraud-".into()),
        ..Default::default()
    };
    // `_` must not act as a wildcard, and the match is case-sensitive on every backend.
    let underscore = ModelFilter {
        name_prefix: Some("fraud_".into()),
        ..Default::default()
    };
    let upper = ModelFilter {
        name_prefix: Some("FRAUD".into()),
        ..Default::default()
    };
    let tag = ModelFilter {
        tag: Some("retention".into()),
        ..Default::default()
    };
    let low = ModelFilter {
        risk_tier: Some(RiskTier::Low),
        ..Default::default()
    };
    let big = PageRequest {
        first: 100,
        after: None,
    };
    assert_eq!(
        names(s.list_models(&scope, &prefix, &big).await.unwrap()),
        ["fraud-eu", "fraud-us"]
    );
    assert_eq!(
        names(s.list_models(&scope, &underscore, &big).await.unwrap()),
        ["fraud_x"]
    );
    assert!(names(s.list_models(&scope, &upper, &big).await.unwrap()).is_empty());
    assert_eq!(
        names(s.list_models(&scope, &tag, &big).await.unwrap()),
        ["churn"]
    );
    assert_eq!(
        names(s.list_models(&scope, &low, &big).await.unwrap()),
        ["churn"]
    );

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .list_models(
                &scope,
                &all,
                &PageRequest {
                    first: 4,
                    after: after.clone(),
                },
            )
            .await
            .unwrap();
        let more = page.has_next_page;
        after = page.end_cursor.clone();
        seen.extend(names(page));
        if !more {
            break;
        }
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(seen.len(), 6);
    assert_eq!(unique.len(), 6);
    let bad = PageRequest {
        first: 4,
        after: Some("%%%".into()),
    };
    assert!(matches!(
        s.list_models(&scope, &all, &bad).await,
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn update_returns_before_and_after() {
    let db = db().await;
    let s = &db.store;
    let scope = tenant(s, "acme").await;
    let m = model(s, &scope, "fraud").await;
    let tx = s.begin_write().await.unwrap();
    let (before, after) = s
        .update_model(
            &tx,
            &scope,
            m.id,
            &ModelUpdate {
                description: Some("new".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(before.description, "test model");
    assert_eq!(after.description, "new");
    assert_eq!(after.tags, vec!["eu", "fraud"]);
    assert_eq!(s.model(&scope, m.id).await.unwrap().unwrap(), after);
}
