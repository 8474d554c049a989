//! Lineage walks: direction, depth bound, edges, and a fine-tune chain.

use steward_domain::*;

use crate::fixtures::*;

#[tokio::test]
async fn walks_upstream_downstream_and_both() {
    let db = db().await;
    let s = &db.store;
    let scope = tenant(s, "acme").await;
    let m = model(s, &scope, "fraud").await;
    let dv = dataset_version(s, &scope, "transactions").await;
    // v1 trained on dv; v2 fine-tuned from v1 on the same data.
    let tx = s.begin_write().await.unwrap();
    let v1 = s
        .register_model_version(
            &tx,
            &scope,
            "t",
            &new_version(m.id, Some(TrainingRunRef::New(new_run(vec![dv.id], None)))),
        )
        .await
        .unwrap();
    let v2 = s
        .register_model_version(
            &tx,
            &scope,
            "t",
            &new_version(
                m.id,
                Some(TrainingRunRef::New(new_run(vec![dv.id], Some(v1.id)))),
            ),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let up = s
        .lineage(&scope, v2.id.as_uuid(), LineageDirection::Upstream, 10)
        .await
        .unwrap()
        .unwrap();
    let labels: Vec<&str> = up.nodes.iter().map(|n| n.label.as_str()).collect();
    assert_eq!(up.nodes[0].label, "fraud v2");
    assert_eq!(up.nodes[0].depth, 0);
    for want in ["fraud", "fraud v1", "transactions v1", "transactions"] {
        assert!(labels.contains(&want), "{want} missing from {labels:?}");
    }
    assert!(
        up.edges
            .iter()
            .any(|e| e.from == v1.id.as_uuid() && e.relation == EdgeRelation::BaseOf)
    );
    assert!(
        up.edges
            .iter()
            .any(|e| e.from == dv.id.as_uuid() && e.relation == EdgeRelation::InputTo)
    );

    // Depth 1 upstream from v2: its run and its model only.
    let near = s
        .lineage(&scope, v2.id.as_uuid(), LineageDirection::Upstream, 1)
        .await
        .unwrap()
        .unwrap();
    let kinds: Vec<NodeKind> = near.nodes.iter().map(|n| n.kind).collect();
    assert_eq!(near.nodes.len(), 3, "{:?}", near.nodes);
    assert!(kinds.contains(&NodeKind::TrainingRun) && kinds.contains(&NodeKind::Model));

    // Downstream from the data reaches both versions; nothing upstream of the data is included.
    let down = s
        .lineage(&scope, dv.id.as_uuid(), LineageDirection::Downstream, 10)
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<uuid::Uuid> = down.nodes.iter().map(|n| n.id).collect();
    assert!(ids.contains(&v1.id.as_uuid()) && ids.contains(&v2.id.as_uuid()));
    assert!(!down.nodes.iter().any(|n| n.kind == NodeKind::Dataset));

    // Both from v1: its inputs and what was fine-tuned from it, but not its sibling under the
    // same model (siblings are neither upstream nor downstream).
    let both = s
        .lineage(&scope, v1.id.as_uuid(), LineageDirection::Both, 10)
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<uuid::Uuid> = both.nodes.iter().map(|n| n.id).collect();
    assert!(ids.contains(&dv.id.as_uuid()) && ids.contains(&v2.id.as_uuid()));
    assert!(
        both.nodes
            .iter()
            .all(|n| n.id != m.id.as_uuid() || n.depth == 1)
    );

    // Every edge joins two returned nodes.
    for g in [&up, &down, &both] {
        let ids: Vec<uuid::Uuid> = g.nodes.iter().map(|n| n.id).collect();
        assert!(
            g.edges
                .iter()
                .all(|e| ids.contains(&e.from) && ids.contains(&e.to))
        );
    }
}

#[tokio::test]
async fn unknown_start_is_none() {
    let db = db().await;
    let scope = tenant(&db.store, "acme").await;
    let got = db
        .store
        .lineage(&scope, uuid::Uuid::new_v4(), LineageDirection::Both, 3)
        .await
        .unwrap();
    assert!(got.is_none());
}

/// A hub (one data set version behind thousands of runs) cannot make one walk return an
/// unbounded graph: the nearest steps are kept, the cut is said, and the graph stays consistent.
#[tokio::test]
async fn a_walk_from_a_hub_is_cut_at_its_nearest_steps() {
    let db = db().await;
    let scope = tenant(&db.store, "acme").await;
    let hub = uuid::Uuid::now_v7();
    let mut nodes = vec![(hub, NodeKind::DatasetVersion, "hub v1".to_string())];
    let mut edges = Vec::new();
    for i in 0..(MAX_LINEAGE_STEPS + 500) {
        let run = uuid::Uuid::now_v7();
        nodes.push((run, NodeKind::TrainingRun, format!("run {i}")));
        edges.push((hub, run, EdgeRelation::InputTo));
    }
    db.store
        .import_lineage(&scope, &nodes, &edges)
        .await
        .unwrap();

    let g = db
        .store
        .lineage(&scope, hub, LineageDirection::Downstream, 3)
        .await
        .unwrap()
        .unwrap();
    assert!(g.truncated);
    assert_eq!(g.nodes.len(), MAX_LINEAGE_STEPS);
    assert_eq!(g.nodes[0].id, hub, "the start comes first");
    let kept: std::collections::HashSet<_> = g.nodes.iter().map(|n| n.id).collect();
    assert!(
        g.edges
            .iter()
            .all(|e| kept.contains(&e.from) && kept.contains(&e.to))
    );
    assert_eq!(g.edges.len(), MAX_LINEAGE_STEPS - 1);

    // A small walk is whole and says so.
    let run = nodes[1].0;
    let g = db
        .store
        .lineage(&scope, run, LineageDirection::Upstream, 3)
        .await
        .unwrap()
        .unwrap();
    assert!(!g.truncated);
    assert_eq!(g.nodes.len(), 2);
}
