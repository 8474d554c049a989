//! Compliance reports: a model's (or a tenant's) governance record in sections, each section
//! mapped to the headings it answers in the EU AI Act (Annex IV, Art. 12, Art. 72), the Federal
//! Reserve's SR 11-7 and ISO/IEC 42001 Annex A; every gap (a field never filled, a model without
//! a baseline or a policy) listed as a gap, not hidden. And the part of the record no system can
//! derive: a model's intended use, limitations and human oversight, written by its owners and
//! versioned like everything else.
//!
//! The report is plain data (facts, tables, gaps per section) so that its three renderings
//! (printable HTML, CSV, JSON) cannot disagree.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::ModelId;
use crate::validate::{self, Validated, ValidationError};

/// Longest field of a model's documentation.
pub const MAX_DOCUMENTATION_FIELD: usize = 20_000;
/// Longest note of a documentation revision.
pub const MAX_DOCUMENTATION_NOTE: usize = 1_000;

/// One revision of a model's documentation (revisions count from 1; the latest is in force).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelDocumentation {
    #[serde(skip)]
    pub model_id: ModelId,
    pub revision: i64,
    /// What the model is for, for whom, in which decisions (Annex IV 1(a), ISO A.9.4).
    pub intended_use: String,
    /// What it must not be used for, where it is known to be weak (Annex IV 3).
    pub limitations: String,
    /// Who reviews its outputs and how a person can override it (Art. 14, Annex IV 2(e)).
    pub human_oversight: String,
    /// Why this revision was written.
    pub note: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A new revision of a model's documentation: the whole text of each field (a field left empty
/// is reported as a gap). `expected_revision` is the revision the editor started from; when
/// another edit landed first the change is refused as a conflict instead of overwriting it.
#[derive(Clone, Debug)]
pub struct DocumentModel {
    pub model_id: ModelId,
    pub intended_use: String,
    pub limitations: String,
    pub human_oversight: String,
    pub note: String,
    pub expected_revision: Option<i64>,
}

impl DocumentModel {
    /// Line endings as browsers send them (CRLF) become `\n`; surrounding blanks are trimmed.
    pub fn normalized(mut self) -> Self {
        for f in [
            &mut self.intended_use,
            &mut self.limitations,
            &mut self.human_oversight,
            &mut self.note,
        ] {
            *f = f.replace("\r\n", "\n").trim().to_string();
        }
        self
    }

    /// Each field bounded and free of control characters; at least one field written.
    pub fn validate(&self) -> Validated {
        let fields = [
            ("input.intendedUse", &self.intended_use),
            ("input.limitations", &self.limitations),
            ("input.humanOversight", &self.human_oversight),
        ];
        for (name, value) in fields {
            validate::text(name, value, MAX_DOCUMENTATION_FIELD)?;
        }
        validate::text("input.note", &self.note, MAX_DOCUMENTATION_NOTE)?;
        if fields.iter().all(|(_, v)| v.trim().is_empty()) {
            return Err(ValidationError::new(
                "input",
                "write at least one of intendedUse, limitations, humanOversight",
            ));
        }
        if let Some(r) = self.expected_revision
            && r < 0
        {
            return Err(ValidationError::new(
                "input.expectedRevision",
                "must be 0 (none yet) or a revision number",
            ));
        }
        Ok(())
    }
}

/// The frameworks a report maps its sections to.
pub const FRAMEWORKS: [&str; 5] = [ANNEX_IV, ART_12, ART_72, SR_11_7, ISO_42001];
pub const ANNEX_IV: &str = "EU AI Act Annex IV";
pub const ART_12: &str = "EU AI Act Art. 12";
pub const ART_72: &str = "EU AI Act Art. 72";
pub const SR_11_7: &str = "SR 11-7";
pub const ISO_42001: &str = "ISO/IEC 42001 Annex A";

/// A report's sections, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SectionKey {
    Inventory,
    IntendedUse,
    TrainingData,
    Evaluation,
    Policies,
    ChangeHistory,
    Monitoring,
    EventLogs,
}

/// A heading of a framework that a section answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Reference {
    pub framework: &'static str,
    pub heading: &'static str,
}

/// A [`Reference`] as a literal (promoted to a `'static` slice element).
macro_rules! r {
    ($framework:expr, $heading:expr $(,)?) => {
        Reference {
            framework: $framework,
            heading: $heading,
        }
    };
}

impl SectionKey {
    pub const ALL: [SectionKey; 8] = [
        SectionKey::Inventory,
        SectionKey::IntendedUse,
        SectionKey::TrainingData,
        SectionKey::Evaluation,
        SectionKey::Policies,
        SectionKey::ChangeHistory,
        SectionKey::Monitoring,
        SectionKey::EventLogs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SectionKey::Inventory => "inventory",
            SectionKey::IntendedUse => "intendedUse",
            SectionKey::TrainingData => "trainingData",
            SectionKey::Evaluation => "evaluation",
            SectionKey::Policies => "policies",
            SectionKey::ChangeHistory => "changeHistory",
            SectionKey::Monitoring => "monitoring",
            SectionKey::EventLogs => "eventLogs",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            SectionKey::Inventory => "Inventory",
            SectionKey::IntendedUse => "Intended use and limitations",
            SectionKey::TrainingData => "Training data and runs",
            SectionKey::Evaluation => "Evaluation and baselines",
            SectionKey::Policies => "Policies in force and their decisions",
            SectionKey::ChangeHistory => "Change history",
            SectionKey::Monitoring => "Monitoring",
            SectionKey::EventLogs => "Event logs",
        }
    }

    /// The headings this section answers: the mapping docs/compliance.md prints as its table.
    pub fn references(self) -> &'static [Reference] {
        match self {
            SectionKey::Inventory => &[
                r!(ANNEX_IV, "1(a) intended purpose, provider, version"),
                r!(ANNEX_IV, "1(c) versions of relevant software"),
                r!(SR_11_7, "VI. Governance: model inventory"),
                r!(SR_11_7, "VI. Governance: roles and responsibilities"),
                r!(ISO_42001, "A.3.2 AI roles and responsibilities"),
                r!(ISO_42001, "A.6.2.7 AI system technical documentation"),
            ],
            SectionKey::IntendedUse => &[
                r!(ANNEX_IV, "1(a) intended purpose"),
                r!(ANNEX_IV, "2(e) human oversight measures (Art. 14)"),
                r!(
                    ANNEX_IV,
                    "3 capabilities and limitations in performance; foreseeable unintended outcomes",
                ),
                r!(SR_11_7, "IV. Model use: limitations and assumptions"),
                r!(ISO_42001, "A.9.4 Intended use of the AI system"),
                r!(
                    ISO_42001,
                    "A.8.2 System documentation and information for users"
                ),
            ],
            SectionKey::TrainingData => &[
                r!(ANNEX_IV, "2(a) methods and steps of development"),
                r!(
                    ANNEX_IV,
                    "2(d) data requirements: training data sets, provenance, scope",
                ),
                r!(SR_11_7, "IV. Model development and implementation: data"),
                r!(ISO_42001, "A.7.2 Data for development and enhancement"),
                r!(ISO_42001, "A.7.5 Data provenance"),
                r!(
                    ISO_42001,
                    "A.6.2.3 Documentation of AI system design and development",
                ),
            ],
            SectionKey::Evaluation => &[
                r!(
                    ANNEX_IV,
                    "2(g) validation and testing procedures, data and metrics",
                ),
                r!(ANNEX_IV, "4 appropriateness of the performance metrics"),
                r!(SR_11_7, "V. Validation: evaluation of conceptual soundness"),
                r!(SR_11_7, "V. Validation: outcomes analysis"),
                r!(ISO_42001, "A.6.2.4 AI system verification and validation"),
                r!(ISO_42001, "A.7.4 Quality of data for AI systems"),
            ],
            SectionKey::Policies => &[
                r!(ANNEX_IV, "5 risk management system (Art. 9)"),
                r!(SR_11_7, "VI. Governance: policies and procedures"),
                r!(ISO_42001, "A.2.2 AI policy"),
                r!(
                    ISO_42001,
                    "A.9.2 Processes for responsible use of AI systems"
                ),
            ],
            SectionKey::ChangeHistory => &[
                r!(ANNEX_IV, "6 relevant changes through the lifecycle"),
                r!(ANNEX_IV, "2(f) pre-determined changes"),
                r!(SR_11_7, "IV. Model implementation; VI. documentation"),
                r!(ISO_42001, "A.6.2.5 AI system deployment"),
            ],
            SectionKey::Monitoring => &[
                r!(ANNEX_IV, "9 post-market monitoring system and plan"),
                r!(ART_72, "(1) post-market monitoring system"),
                r!(
                    ART_72,
                    "(2) collect, document and analyse performance data over the lifetime",
                ),
                r!(SR_11_7, "V. Validation: ongoing monitoring"),
                r!(ISO_42001, "A.6.2.6 AI system operation and monitoring"),
                r!(ISO_42001, "A.8.4 Communication of incidents"),
            ],
            SectionKey::EventLogs => &[
                r!(
                    ART_12,
                    "(1) automatic recording of events over the lifetime"
                ),
                r!(
                    ART_12,
                    "(2)(a)-(c) events for risk, post-market monitoring, operation",
                ),
                r!(ART_72, "(2) data to evaluate continuous compliance"),
                r!(SR_11_7, "VI. Governance: internal audit"),
                r!(ISO_42001, "A.6.2.8 AI system recording of event logs"),
            ],
        }
    }
}

/// One labelled value of a section.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

/// Rows of a section with named columns (every row as long as `columns`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Table {
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Rows left out to keep the report bounded (the newest are kept).
    pub omitted: usize,
}

impl Table {
    pub fn new(caption: &str, columns: &[&str]) -> Table {
        Table {
            caption: caption.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
            omitted: 0,
        }
    }

    /// Adds a row; cells beyond the columns are dropped, missing ones left empty, so a table
    /// is always rectangular.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells = cells;
        cells.resize(self.columns.len(), String::new());
        self.rows.push(cells);
    }
}

/// A section of a report: what it says (facts, tables) and what is missing (gaps).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Section {
    pub key: SectionKey,
    pub title: &'static str,
    pub references: &'static [Reference],
    pub facts: Vec<Fact>,
    pub tables: Vec<Table>,
    pub gaps: Vec<String>,
}

impl Section {
    pub fn new(key: SectionKey) -> Section {
        Section {
            key,
            title: key.title(),
            references: key.references(),
            facts: Vec::new(),
            tables: Vec::new(),
            gaps: Vec::new(),
        }
    }

    pub fn fact(&mut self, label: &str, value: impl Into<String>) {
        self.facts.push(Fact {
            label: label.into(),
            value: value.into(),
        });
    }

    pub fn gap(&mut self, what: impl Into<String>) {
        self.gaps.push(what.into());
    }
}

/// One model's part of a report.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelReport {
    pub id: String,
    pub name: String,
    pub sections: Vec<Section>,
}

impl ModelReport {
    pub fn gap_count(&self) -> usize {
        self.sections.iter().map(|s| s.gaps.len()).sum()
    }
}

/// A gap, named with where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub model: Option<String>,
    pub section: &'static str,
    pub what: String,
}

/// What a report covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ReportScope {
    /// One model, every section in full.
    Model { id: String, name: String },
    /// Every model of the tenant: the inventory, each model's gaps, the event logs.
    Tenant,
}

/// A compliance report as generated at one moment.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceReport {
    pub generated_at: DateTime<Utc>,
    pub generated_by: String,
    pub tenant: String,
    pub business_unit: String,
    pub scope: ReportScope,
    pub frameworks: [&'static str; 5],
    /// The tenant-wide sections (the inventory of a tenant report, the event logs).
    pub sections: Vec<Section>,
    /// Per model: every section of a model report; a tenant report keeps each model's gaps
    /// only (its sections are in the model's own report).
    pub models: Vec<ModelReport>,
}

impl ComplianceReport {
    /// Every gap of the report, tenant-wide ones first, each with its model and section.
    pub fn gaps(&self) -> Vec<Gap> {
        let mut out = Vec::new();
        for s in &self.sections {
            for g in &s.gaps {
                out.push(Gap {
                    model: None,
                    section: s.key.as_str(),
                    what: g.clone(),
                });
            }
        }
        for m in &self.models {
            for s in &m.sections {
                for g in &s.gaps {
                    out.push(Gap {
                        model: Some(m.name.clone()),
                        section: s.key.as_str(),
                        what: g.clone(),
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(intended: &str) -> DocumentModel {
        DocumentModel {
            model_id: ModelId::generate(),
            intended_use: intended.into(),
            limitations: String::new(),
            human_oversight: String::new(),
            note: String::new(),
            expected_revision: None,
        }
    }

    #[test]
    fn every_section_answers_annex_iv_sr_11_7_and_iso_42001_and_articles_12_and_72_are_covered() {
        for s in SectionKey::ALL {
            for f in [ANNEX_IV, SR_11_7, ISO_42001] {
                let refs = s.references();
                let ok = refs.iter().any(|r| r.framework == f)
                    || (s == SectionKey::EventLogs && f == ANNEX_IV);
                assert!(ok, "{} maps nothing of {f}", s.as_str());
            }
        }
        for f in [ART_12, ART_72] {
            let n = SectionKey::ALL
                .iter()
                .flat_map(|s| s.references())
                .filter(|r| r.framework == f)
                .count();
            assert!(n >= 2, "{f} is mapped by {n} headings");
        }
        for r in SectionKey::ALL.iter().flat_map(|s| s.references()) {
            assert!(FRAMEWORKS.contains(&r.framework), "{}", r.framework);
        }
    }

    #[test]
    fn documentation_needs_one_field_normalizes_browser_newlines_and_refuses_control_characters() {
        let e = doc("  ").normalized().validate().unwrap_err();
        assert_eq!(e.field, "input");
        let d = doc("Scores card payments.\r\nNot for loans.").normalized();
        assert_eq!(d.intended_use, "Scores card payments.\nNot for loans.");
        d.validate().unwrap();
        let e = doc("bell \u{7}").validate().unwrap_err();
        assert_eq!(e.field, "input.intendedUse");
        let e = doc(&"x".repeat(MAX_DOCUMENTATION_FIELD + 1))
            .validate()
            .unwrap_err();
        assert!(e.message.contains("at most"), "{e}");
        let mut d = doc("ok");
        d.expected_revision = Some(-1);
        assert_eq!(d.validate().unwrap_err().field, "input.expectedRevision");
    }

    #[test]
    fn tables_stay_rectangular_and_gaps_name_their_model_and_section() {
        let mut t = Table::new("t", &["a", "b"]);
        t.row(vec!["1".into()]);
        t.row(vec!["1".into(), "2".into(), "3".into()]);
        assert!(t.rows.iter().all(|r| r.len() == 2));
        let mut s = Section::new(SectionKey::Evaluation);
        s.gap("no baseline");
        let mut logs = Section::new(SectionKey::EventLogs);
        logs.gap("empty log");
        let report = ComplianceReport {
            generated_at: Utc::now(),
            generated_by: "g".into(),
            tenant: "t".into(),
            business_unit: "T".into(),
            scope: ReportScope::Tenant,
            frameworks: FRAMEWORKS,
            sections: vec![logs],
            models: vec![ModelReport {
                id: "m".into(),
                name: "fraud".into(),
                sections: vec![s],
            }],
        };
        let gaps = report.gaps();
        assert_eq!(gaps.len(), 2);
        assert_eq!(gaps[0].model, None);
        assert_eq!(gaps[1].model.as_deref(), Some("fraud"));
        assert_eq!(gaps[1].section, "evaluation");
    }
}
