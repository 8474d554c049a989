//! Policy storage: revision and activation numbering under concurrency, content addressing,
//! binding uniqueness, and tenant scoping of every read.

use steward_domain::*;
use steward_store::{Store, StoreError, TenantScope};

use crate::fixtures::*;

async fn policy(store: &Store, scope: &TenantScope, name: &str) -> Policy {
    let tx = store.begin_write().await.unwrap();
    let p = store
        .create_policy(
            &tx,
            scope,
            "author",
            &NewPolicy {
                name: name.into(),
                description: String::new(),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    p
}

async fn propose(
    store: &Store,
    scope: &TenantScope,
    p: PolicyId,
    source: &str,
) -> (PolicyRevision, bool) {
    let tx = store.begin_write().await.unwrap();
    let input = NewPolicyRevision {
        policy_id: p,
        source: source.into(),
        note: String::new(),
    };
    let r = store
        .add_policy_revision(&tx, scope, "author", &input, &format!("hash-of-{source}"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    r
}

#[tokio::test]
async fn concurrent_proposals_get_distinct_consecutive_numbers() {
    let db = db().await;
    let scope = tenant(&db.store, "acme").await;
    let p = policy(&db.store, &scope, "fraud").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            propose(&store, &scope, p.id, &format!("source {i}"))
                .await
                .0
                .number
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort();
    assert_eq!(numbers, (1..=16).collect::<Vec<i64>>());
    // The same source again is the existing revision, not a 17th.
    let (again, created) = propose(&db.store, &scope, p.id, "source 3").await;
    assert!(!created);
    assert_eq!(again.hash, "hash-of-source 3");
}

#[tokio::test]
async fn publications_derive_status_and_stay_in_their_tenant() {
    let db = db().await;
    let s = &db.store;
    let acme = tenant(s, "acme").await;
    let other = tenant(s, "other").await;
    let p = policy(s, &acme, "fraud").await;
    propose(s, &acme, p.id, "one").await;
    propose(s, &acme, p.id, "two").await;
    for (number, previous) in [(1, None), (2, Some(1)), (1, Some(2))] {
        let tx = s.begin_write().await.unwrap();
        let a = s
            .activate_policy_revision(&tx, &acme, "publisher", p.id, number)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(a.changed);
        assert_eq!(a.previous, previous);
        assert_eq!(a.revision.status, RevisionStatus::Active);
        assert_eq!(a.revision.published_by.as_deref(), Some("publisher"));
    }
    let page = s
        .policy_revisions(
            &acme,
            p.id,
            &PageRequest {
                first: 10,
                after: None,
            },
        )
        .await
        .unwrap();
    let states: Vec<_> = page.items.iter().map(|r| (r.number, r.status)).collect();
    assert_eq!(
        states,
        vec![(2, RevisionStatus::Superseded), (1, RevisionStatus::Active)]
    );
    // Another tenant reaches none of it, reading or writing.
    assert!(s.policy(&other, p.id).await.unwrap().is_none());
    assert!(s.policy_revision(&other, p.id, 1).await.unwrap().is_none());
    assert!(matches!(
        s.policy_revisions(
            &other,
            p.id,
            &PageRequest {
                first: 10,
                after: None
            }
        )
        .await,
        Err(StoreError::NotFound("policy"))
    ));
    let tx = s.begin_write().await.unwrap();
    let e = s
        .activate_policy_revision(&tx, &other, "intruder", p.id, 2)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound("policy")), "{e}");
    let e = s
        .create_policy_binding(
            &tx,
            &other,
            "intruder",
            &NewPolicyBinding {
                policy_id: p.id,
                target: BindingTarget::TenantDefault,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound("policy")), "{e}");
    drop(tx);
    assert_eq!(
        s.policy(&acme, p.id)
            .await
            .unwrap()
            .unwrap()
            .active_revision,
        Some(1)
    );
}

#[tokio::test]
async fn one_live_model_binding_and_one_tenant_default() {
    let db = db().await;
    let s = &db.store;
    let scope = tenant(s, "acme").await;
    let m = model(s, &scope, "fraud").await;
    let p = policy(s, &scope, "fraud").await;
    let bind = |target: BindingTarget| NewPolicyBinding {
        policy_id: p.id,
        target,
    };
    let tx = s.begin_write().await.unwrap();
    let first = s
        .create_policy_binding(&tx, &scope, "a", &bind(BindingTarget::Model(m.id)))
        .await
        .unwrap();
    s.create_policy_binding(&tx, &scope, "a", &bind(BindingTarget::TenantDefault))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    for target in [BindingTarget::Model(m.id), BindingTarget::TenantDefault] {
        let tx = s.begin_write().await.unwrap();
        let e = s
            .create_policy_binding(&tx, &scope, "a", &bind(target))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    }
    let tx = s.begin_write().await.unwrap();
    let (removed, changed) = s
        .remove_policy_binding(&tx, &scope, "a", first.id)
        .await
        .unwrap();
    assert!(changed && removed.removed_at.is_some());
    // Once removed, the model's slot is free again; the removed binding is kept.
    s.create_policy_binding(&tx, &scope, "a", &bind(BindingTarget::Model(m.id)))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(s.live_policy_bindings(&scope, None).await.unwrap().len(), 2);
    assert!(
        s.policy_binding(&scope, first.id)
            .await
            .unwrap()
            .unwrap()
            .removed_at
            .is_some()
    );
}
