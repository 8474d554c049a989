//! The lineage graph: which records were built from which, as nodes and edges.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::validate::ValidationError;

/// The kinds of record that appear in lineage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Dataset,
    DatasetVersion,
    TrainingRun,
    Model,
    ModelVersion,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Dataset => "dataset",
            NodeKind::DatasetVersion => "dataset_version",
            NodeKind::TrainingRun => "training_run",
            NodeKind::Model => "model",
            NodeKind::ModelVersion => "model_version",
        }
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NodeKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "dataset" => NodeKind::Dataset,
            "dataset_version" => NodeKind::DatasetVersion,
            "training_run" => NodeKind::TrainingRun,
            "model" => NodeKind::Model,
            "model_version" => NodeKind::ModelVersion,
            other => {
                return Err(ValidationError::new(
                    "kind",
                    format!("unknown node kind `{other}`"),
                ));
            }
        })
    }
}

/// How an edge connects its ends; edges always point downstream (from input to product).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeRelation {
    /// dataset -> dataset version, model -> model version.
    HasVersion,
    /// dataset version -> training run.
    InputTo,
    /// model version -> training run that fine-tuned it.
    BaseOf,
    /// training run -> model version.
    Produced,
}

impl EdgeRelation {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeRelation::HasVersion => "has_version",
            EdgeRelation::InputTo => "input_to",
            EdgeRelation::BaseOf => "base_of",
            EdgeRelation::Produced => "produced",
        }
    }
}

impl FromStr for EdgeRelation {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "has_version" => EdgeRelation::HasVersion,
            "input_to" => EdgeRelation::InputTo,
            "base_of" => EdgeRelation::BaseOf,
            "produced" => EdgeRelation::Produced,
            other => {
                return Err(ValidationError::new(
                    "relation",
                    format!("unknown edge relation `{other}`"),
                ));
            }
        })
    }
}

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

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineageGraph {
    pub nodes: Vec<LineageNode>,
    pub edges: Vec<LineageEdge>,
}
