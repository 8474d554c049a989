//! Window parts: batches merge into one part per (window, slice) through the caller's merge,
//! a part that cannot merge stays apart, a failing merge loses nothing, and rows merged while an
//! evaluation ran are counted as late when it completes.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use steward_domain::*;
use steward_store::{PartsRead, Store, StoreError, TenantScope};

use crate::fixtures::*;

fn at(t: &str) -> DateTime<Utc> {
    t.parse().unwrap()
}

/// A batch of `rows` rows for the 12:00-13:00 window whose "profile" is the bytes `tag`.
fn batch(v: &ModelVersion, slice: &str, rows: i64, tag: &[u8]) -> NewObservationBatch {
    NewObservationBatch {
        model_version_id: v.id,
        model_id: v.model_id,
        kind: "observations",
        idempotency_key: None,
        payload_hash: format!("{tag:?}"),
        rows,
        summary: json!({}),
        parts: vec![WindowPart {
            window_start: at("2026-03-01T12:00:00Z"),
            window_end: at("2026-03-01T13:00:00Z"),
            closes_at: at("2026-03-01T13:05:00Z"),
            slice: slice.into(),
            rows,
            profile: tag.to_vec(),
        }],
        late: vec![],
        predictions: vec![],
    }
}

/// Concatenates, except that a stored part starting with `x` takes nothing (another baseline)
/// and a batch starting with `!` cannot be read.
fn concat(stored: &[u8], new: &[u8]) -> Result<Option<Vec<u8>>, String> {
    if new.starts_with(b"!") {
        return Err("unreadable part".into());
    }
    if stored.starts_with(b"x") {
        return Ok(None);
    }
    Ok(Some([stored, new].concat()))
}

async fn add(
    store: &Store,
    scope: &TenantScope,
    new: &NewObservationBatch,
) -> Result<ObservationBatch, StoreError> {
    let tx = store.begin_write().await?;
    let now = at("2026-03-01T12:30:00Z");
    let b = store
        .insert_observation_batch(&tx, scope, new, "tester", now, &concat)
        .await?;
    tx.commit().await?;
    Ok(b)
}

#[tokio::test]
async fn batches_merge_per_slice_and_unmergeable_or_unreadable_parts_lose_nothing() {
    let db = db().await;
    let store = &db.store;
    let scope = tenant(store, "acme").await;
    let m = model(store, &scope, "fraud").await;
    let v = version(store, &scope, m.id).await;
    add(store, &scope, &batch(&v, "EU", 3, b"a")).await.unwrap();
    add(store, &scope, &batch(&v, "EU", 4, b"b")).await.unwrap();
    add(store, &scope, &batch(&v, "US", 5, b"x")).await.unwrap();
    add(store, &scope, &batch(&v, "US", 6, b"c")).await.unwrap();
    let err = add(store, &scope, &batch(&v, "EU", 7, b"!"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");

    let w = store.windows(&scope, v.id, 10).await.unwrap();
    let parts = store.window_parts(&scope, w[0].id).await.unwrap();
    let mut shape: Vec<(String, i64, Vec<u8>)> =
        parts.into_iter().map(|(s, _, r, p)| (s, r, p)).collect();
    shape.sort();
    assert_eq!(
        shape,
        [
            ("EU".into(), 7, b"ab".to_vec()),
            ("US".into(), 5, b"x".to_vec()),
            ("US".into(), 6, b"c".to_vec()),
        ]
    );
}

#[tokio::test]
async fn rows_merged_while_a_window_is_evaluated_are_counted_late() {
    let db = db().await;
    let store = &db.store;
    let scope = tenant(store, "acme").await;
    let m = model(store, &scope, "fraud").await;
    let v = version(store, &scope, m.id).await;
    add(store, &scope, &batch(&v, "", 10, b"a")).await.unwrap();
    let id = store.windows(&scope, v.id, 10).await.unwrap()[0].id;
    let now = at("2026-03-01T13:06:00Z");
    let leased = store
        .lease_window(&scope, id, "e1", now, now + Duration::seconds(60))
        .await
        .unwrap();
    assert!(leased.is_some());
    // The evaluation reads the parts, then a batch lands before it writes.
    let read: PartsRead = store
        .window_parts(&scope, id)
        .await
        .unwrap()
        .into_iter()
        .map(|(s, b, r, _)| ((s, b), r))
        .collect();
    add(store, &scope, &batch(&v, "", 7, b"b")).await.unwrap();
    let outcome = WindowOutcome {
        window_id: id,
        lease_owner: "e1".into(),
        evaluated_by: "system:scheduler".into(),
        evaluated_at: now,
        slices: vec![],
        states: vec![],
        evaluation: json!({}),
        decision_record_id: None,
        performance: vec![],
    };
    let tx = store.begin_write().await.unwrap();
    store
        .complete_window(&tx, &scope, &outcome, &read)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let w = store.window(&scope, id).await.unwrap().unwrap();
    assert_eq!((w.status, w.late_rows), (WindowStatus::Evaluated, 7));
    assert!(store.window_parts(&scope, id).await.unwrap().is_empty());
    // And after it closed, a batch for it is late, not a part.
    let b = add(store, &scope, &batch(&v, "", 2, b"c")).await.unwrap();
    assert_eq!(b.late_rows, 2);
    let w = store.window(&scope, id).await.unwrap().unwrap();
    assert_eq!(w.late_rows, 9);
}
