//! The lineage graph as SVG, laid out in layers from left (inputs) to right (products): the
//! focus node in its own column, each other node as many columns left or right as the shortest
//! chain of edges that reached it from the focus, and within a column ordered by where its
//! neighbours nearer the focus sit (one barycentre sweep outwards), so edges mostly run
//! straight. Every node is a link that moves the focus to it, keeping the depth.
//!
//! Text is left to the browser's fonts (no font library on the server); labels longer than a
//! box are cut with an ellipsis and carried whole in the node's `<title>`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;

use steward_charts::escape as esc;
use steward_domain::{LineageGraph, NodeKind};
use uuid::Uuid;

const BOX_W: f64 = 200.0;
const BOX_H: f64 = 40.0;
const COL_GAP: f64 = 70.0;
const ROW_GAP: f64 = 14.0;
const PAD: f64 = 12.0;
/// Characters that fit a box at the page's font size.
const LABEL_CHARS: usize = 26;

/// Each node's column relative to the focus (negative: upstream).
fn layers(graph: &LineageGraph, focus: Uuid) -> HashMap<Uuid, i64> {
    let mut out: HashMap<Uuid, Vec<(Uuid, i64)>> = HashMap::new();
    for e in &graph.edges {
        out.entry(e.from).or_default().push((e.to, 1));
        out.entry(e.to).or_default().push((e.from, -1));
    }
    let mut layer = HashMap::from([(focus, 0i64)]);
    let mut queue = VecDeque::from([focus]);
    while let Some(n) = queue.pop_front() {
        let at = layer[&n];
        for &(m, step) in out.get(&n).map(Vec::as_slice).unwrap_or(&[]) {
            // Keep walking away from the focus: an upstream node's upstream, a downstream
            // node's downstream; siblings met the other way sit one column further out.
            if let std::collections::hash_map::Entry::Vacant(v) = layer.entry(m) {
                v.insert(at + step);
                queue.push_back(m);
            }
        }
    }
    // Nodes the walk returned without an edge to the rest (should not happen) go beside it.
    for n in &graph.nodes {
        layer.entry(n.id).or_insert(0);
    }
    layer
}

fn kind_class(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Dataset | NodeKind::DatasetVersion => "data",
        NodeKind::TrainingRun | NodeKind::Job => "run",
        NodeKind::Model | NodeKind::ModelVersion => "model",
        NodeKind::Incident | NodeKind::DecisionRecord => "incident",
    }
}

fn cut(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_string();
    }
    let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

/// Positions (column, row) of every node: columns by layer, rows by barycentre.
fn place(graph: &LineageGraph, focus: Uuid) -> HashMap<Uuid, (i64, usize)> {
    let layer = layers(graph, focus);
    let mut columns: BTreeMap<i64, Vec<Uuid>> = BTreeMap::new();
    let label: HashMap<Uuid, &str> = graph
        .nodes
        .iter()
        .map(|n| (n.id, n.label.as_str()))
        .collect();
    for n in &graph.nodes {
        columns.entry(layer[&n.id]).or_default().push(n.id);
    }
    for col in columns.values_mut() {
        col.sort_by_key(|id| (label.get(id).copied().unwrap_or(""), *id));
    }
    let mut row: HashMap<Uuid, f64> = HashMap::new();
    let mut neighbours: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for e in &graph.edges {
        neighbours.entry(e.from).or_default().push(e.to);
        neighbours.entry(e.to).or_default().push(e.from);
    }
    // Outwards from the focus column: each column ordered by the mean row of its neighbours in
    // the column before it (nearer the focus).
    let keys: Vec<i64> = columns.keys().copied().collect();
    let mut order: Vec<i64> = keys.iter().copied().filter(|k| *k >= 0).collect();
    order.extend(keys.iter().copied().filter(|k| *k < 0).rev());
    for k in order {
        let Some(col) = columns.get_mut(&k) else {
            continue;
        };
        let nearer = if k > 0 { k - 1 } else { k + 1 };
        let key = |id: &Uuid| -> f64 {
            let rows: Vec<f64> = neighbours
                .get(id)
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .filter(|m| layer.get(m) == Some(&nearer))
                .filter_map(|m| row.get(m).copied())
                .collect();
            if rows.is_empty() {
                f64::MAX
            } else {
                rows.iter().sum::<f64>() / rows.len() as f64
            }
        };
        if k != 0 {
            let mut keyed: Vec<(f64, usize, Uuid)> = col
                .iter()
                .enumerate()
                .map(|(i, id)| (key(id), i, *id))
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            *col = keyed.into_iter().map(|(_, _, id)| id).collect();
        }
        for (i, id) in col.iter().enumerate() {
            row.insert(*id, i as f64);
        }
    }
    columns
        .iter()
        .flat_map(|(k, col)| col.iter().enumerate().map(move |(i, id)| (*id, (*k, i))))
        .collect()
}

/// The graph as an `<svg>` element, each node a link to `/ui/lineage?node=<id>&depth=<depth>`.
pub(crate) fn draw(graph: &LineageGraph, focus: Uuid, depth: u32) -> String {
    let at = place(graph, focus);
    let min_col = at.values().map(|p| p.0).min().unwrap_or(0);
    let max_col = at.values().map(|p| p.0).max().unwrap_or(0);
    let rows = at.values().map(|p| p.1 + 1).max().unwrap_or(1);
    let x = |col: i64| PAD + (col - min_col) as f64 * (BOX_W + COL_GAP);
    let y = |row: usize| PAD + row as f64 * (BOX_H + ROW_GAP);
    let width = x(max_col) + BOX_W + PAD;
    let height = y(rows - 1) + BOX_H + PAD;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"lineage\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" \
         height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"group\" \
         aria-label=\"lineage graph, {} nodes\">",
        graph.nodes.len()
    );
    for e in &graph.edges {
        let (Some(&(c0, r0)), Some(&(c1, r1))) = (at.get(&e.from), at.get(&e.to)) else {
            continue;
        };
        let (x0, y0) = (x(c0) + BOX_W, y(r0) + BOX_H / 2.0);
        let (x1, y1) = (x(c1), y(r1) + BOX_H / 2.0);
        let bend = ((x1 - x0).abs() / 2.0).max(30.0);
        let _ = write!(
            s,
            "<path class=\"edge\" d=\"M{x0:.1},{y0:.1} C{:.1},{y0:.1} {:.1},{y1:.1} {x1:.1},{y1:.1}\">\
             <title>{}</title></path>",
            x0 + bend,
            x1 - bend,
            e.relation.as_str()
        );
    }
    for n in &graph.nodes {
        let Some(&(c, r)) = at.get(&n.id) else {
            continue;
        };
        let focus_class = if n.id == focus { " focus" } else { "" };
        let _ = write!(
            s,
            "<a href=\"/ui/lineage?node={}&amp;depth={depth}\" class=\"node {}{focus_class}\">\
             <title>{} ({})</title>\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"kind\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text></a>",
            n.id,
            kind_class(n.kind),
            esc(&n.label),
            n.kind.as_str(),
            x(c),
            y(r),
            x(c) + 8.0,
            y(r) + 14.0,
            n.kind.as_str().replace('_', " "),
            x(c) + 8.0,
            y(r) + 31.0,
            esc(&cut(&n.label)),
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use steward_domain::{EdgeRelation, LineageEdge, LineageNode};

    use super::*;

    fn node(kind: NodeKind, label: &str, depth: u32) -> LineageNode {
        LineageNode {
            id: Uuid::new_v4(),
            kind,
            label: label.into(),
            depth,
        }
    }

    #[test]
    fn inputs_sit_left_products_right_and_labels_are_escaped() {
        let data = node(NodeKind::DatasetVersion, "<script>tx v1</script>", 2);
        let run = node(NodeKind::TrainingRun, "fit", 1);
        let version = node(NodeKind::ModelVersion, "fraud v1", 0);
        let next = node(
            NodeKind::ModelVersion,
            "a very long model version label indeed",
            1,
        );
        let edge = |a: &LineageNode, b: &LineageNode, relation| LineageEdge {
            from: a.id,
            to: b.id,
            relation,
        };
        let graph = LineageGraph {
            edges: vec![
                edge(&data, &run, EdgeRelation::InputTo),
                edge(&run, &version, EdgeRelation::Produced),
                edge(&version, &next, EdgeRelation::BaseOf),
            ],
            nodes: vec![data.clone(), run.clone(), version.clone(), next.clone()],
            truncated: false,
        };
        let at = place(&graph, version.id);
        assert_eq!(at[&data.id].0, -2);
        assert_eq!(at[&run.id].0, -1);
        assert_eq!(at[&version.id].0, 0);
        assert_eq!(at[&next.id].0, 1);
        let svg = draw(&graph, version.id, 3);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;tx v1&lt;/script&gt;"));
        assert!(svg.contains(&format!("/ui/lineage?node={}&amp;depth=3", data.id)));
        assert!(svg.contains("a very long model version…"));
        assert_eq!(svg.matches("<a ").count(), 4);
        assert_eq!(svg.matches("class=\"edge\"").count(), 3);
        assert!(svg.contains("class=\"node model focus\""));
    }

    #[test]
    fn a_column_follows_the_order_of_its_neighbours() {
        // Two runs at the focus's left, each fed by its own dataset: the datasets keep the runs'
        // order however their labels sort, so the edges do not cross.
        let focus = node(NodeKind::ModelVersion, "m", 0);
        let r1 = node(NodeKind::TrainingRun, "a-run", 1);
        let r2 = node(NodeKind::TrainingRun, "b-run", 1);
        let d1 = node(NodeKind::DatasetVersion, "z-data", 2);
        let d2 = node(NodeKind::DatasetVersion, "y-data", 2);
        let e = |a: &LineageNode, b: &LineageNode| LineageEdge {
            from: a.id,
            to: b.id,
            relation: EdgeRelation::InputTo,
        };
        let graph = LineageGraph {
            edges: vec![e(&r1, &focus), e(&r2, &focus), e(&d1, &r1), e(&d2, &r2)],
            nodes: vec![
                focus.clone(),
                r1.clone(),
                r2.clone(),
                d1.clone(),
                d2.clone(),
            ],
            truncated: false,
        };
        let at = place(&graph, focus.id);
        assert!(at[&r1.id].1 < at[&r2.id].1);
        assert!(at[&d1.id].1 < at[&d2.id].1, "d1 feeds the upper run");
    }
}
