//! The lineage graph: which records were built from which, as nodes and edges.

use uuid::Uuid;

text_enum!(
    /// The kinds of record that appear in lineage.
    NodeKind, "kind", "node kind", {
        Dataset => "dataset",
        DatasetVersion => "dataset_version",
        TrainingRun => "training_run",
        Model => "model",
        ModelVersion => "model_version",
        /// An incident whose evaluation decided a retraining.
        Incident => "incident",
        /// The decision record of that evaluation.
        DecisionRecord => "decision_record",
        /// A job that OpenLineage events reported (an Airflow task, a Spark job), bound to a
        /// model or not.
        Job => "job",
    }
);

text_enum!(
    /// How an edge connects its ends; edges always point downstream (from input to product).
    EdgeRelation, "relation", "edge relation", {
        /// dataset -> dataset version, model -> model version.
        HasVersion => "has_version",
        /// dataset version -> training run, or -> a job that read it.
        InputTo => "input_to",
        /// model version -> training run that fine-tuned it.
        BaseOf => "base_of",
        /// training run -> model version; job -> the dataset versions it wrote.
        Produced => "produced",
        /// incident -> the decision record whose evaluation asked for a retraining.
        Decided => "decided",
        /// decision record -> the training run that carried its retraining out.
        Triggered => "triggered",
        /// job -> a training run of it (OpenLineage runs of a job bound to a model).
        Ran => "ran",
    }
);

/// Which way to walk from the start node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineageDirection {
    /// Towards inputs: what was this built from?
    Upstream,
    /// Towards products: what came of this?
    Downstream,
    /// Both walks from the same start (not the undirected closure: siblings are not included).
    Both,
}

pub const MAX_LINEAGE_DEPTH: u32 = 25;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineageNode {
    pub id: Uuid,
    pub kind: NodeKind,
    /// A human label such as `fraud-detector v3` or `transactions v12`.
    pub label: String,
    /// Steps from the start node (0 for the start).
    pub depth: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LineageEdge {
    pub from: Uuid,
    pub to: Uuid,
    pub relation: EdgeRelation,
}

/// Most steps (a node reached by an edge) one lineage walk returns; past it the walk keeps the
/// nearest steps and says it was cut, so a hub (a data set behind thousands of runs) cannot turn
/// one request into megabytes.
pub const MAX_LINEAGE_STEPS: usize = 5_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineageGraph {
    pub nodes: Vec<LineageNode>,
    pub edges: Vec<LineageEdge>,
    /// True when the walk reached more than [`MAX_LINEAGE_STEPS`] steps and only the nearest
    /// were kept; ask again from a node further out, or with a smaller depth.
    pub truncated: bool,
}
