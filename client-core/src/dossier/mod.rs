//! The dossier (hồ sơ): its typed form, its validation, and its Automerge
//! document.
//!
//! - [`Dossier`] is a plain, validated snapshot of one dossier — what the UI,
//!   reports and the hub's index tables read.
//! - [`DossierDoc`] is the replicated document (one Automerge document per
//!   dossier) with typed reads and writes, the stage log, and conflicts.
//! - [`validate_update`] is what a hub checks before accepting someone else's
//!   changes: immutable facts stay put and the stage log only grows.

mod document;

pub use document::{
    ChangeMeta, ConflictingValue, DocumentError, DossierDoc, EditableField, FieldConflict,
    NewStage, SCHEMA_VERSION,
};

use serde::{Deserialize, Serialize};

use crate::calendar::WorkingCalendar;
use crate::deadline::{DeadlineError, DeadlineTerms, Due, PauseRule, ProcessingTime, Timeliness};
use crate::ids::{DossierCode, IdNumber, PhoneNumber, UnitCode};
use crate::search::SearchQuery;
use crate::stage::{Progress, StageEntry};
use crate::time;

/// How the dossier reached the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Direct,
    Postal,
    Online,
}

/// Whether a document handed in is the original or a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentForm {
    Original,
    Copy,
    /// Bản sao có chứng thực.
    CertifiedCopy,
}

/// Where and how the citizen collects the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMethod {
    /// At the one-stop counter.
    Counter,
    /// By public postal service (bưu chính công ích).
    Post,
    Online,
}

macro_rules! text_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            pub const CHOICES: &'static str = concat!($($text, " "),+);

            pub const ALL: &'static [Self] = &[$($name::$variant),+];
        }
    };
}

text_enum!(Channel { Direct => "direct", Postal => "postal", Online => "online" });
text_enum!(DocumentForm { Original => "original", Copy => "copy", CertifiedCopy => "certified_copy" });
text_enum!(DeliveryMethod { Counter => "counter", Post => "post", Online => "online" });

/// The procedure as it was when the dossier was received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcedureRef {
    pub id: String,
    pub version: String,
    pub name: String,
}

impl ProcedureRef {
    /// A catalogue procedure as a dossier records it.
    pub fn of(procedure: &crate::catalogue::Procedure) -> ProcedureRef {
        ProcedureRef {
            id: procedure.id.clone(),
            version: procedure.version.clone(),
            name: procedure.name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    pub full_name: String,
    pub id_number: IdNumber,
    pub phone: Option<PhoneNumber>,
    pub address: String,
}

/// One row of the table of documents handed in (Form 01).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandedDocument {
    pub name: String,
    pub form: DocumentForm,
    pub count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    pub amount_vnd: u64,
    pub paid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultDelivery {
    pub method: DeliveryMethod,
    /// Where to collect it, e.g. "Bộ phận Một cửa UBND xã Tân Phong".
    pub place: String,
}

/// A validated snapshot of one dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dossier {
    pub code: DossierCode,
    /// The receiving unit: fixed for the dossier's life, it decides who sees it.
    pub unit: UnitCode,
    /// The field (lĩnh vực) id from the catalogue.
    pub field: String,
    pub procedure: ProcedureRef,
    pub processing: ProcessingTime,
    pub pause_rule: PauseRule,
    pub channel: Channel,
    pub applicant: Applicant,
    pub documents: Vec<HandedDocument>,
    /// Number of sets (bộ hồ sơ) handed in.
    pub sets: u32,
    /// Milliseconds since the Unix epoch.
    pub received_at: i64,
    /// The appointment written on the receipt (Form 01), in milliseconds.
    pub due_at: i64,
    pub fee: Fee,
    pub result_delivery: ResultDelivery,
    /// The stage log in document order; [`Dossier::progress`] orders it.
    pub stages: Vec<StageEntry>,
}

impl Dossier {
    /// The status and timeline derived from the stage log.
    pub fn progress(&self) -> Progress {
        Progress::derive(&self.stages)
    }

    /// How the dossier stood against its deadline at `as_of` (milliseconds),
    /// from the stages recorded for times up to then.
    pub fn standing(
        &self,
        calendar: &WorkingCalendar,
        as_of: i64,
    ) -> Result<Standing, DeadlineError> {
        let progress = Progress::derive_as_of(&self.stages, as_of);
        let assessment = self.deadline_terms().assess(
            calendar,
            &progress.waits,
            progress.outcome.finished_at(),
            as_of,
        )?;
        Ok(Standing {
            progress,
            due: assessment.due,
            timeliness: assessment.timeliness,
        })
    }

    /// Whether a clerk looking for `query` means this dossier: it matches the
    /// code, the applicant's name (diacritics optional), ID number or phone.
    pub fn matches(&self, query: &SearchQuery) -> bool {
        query.matches(&self.code.to_string())
            || query.matches(&self.applicant.full_name)
            || query.matches(self.applicant.id_number.as_str())
            || self
                .applicant
                .phone
                .as_ref()
                .is_some_and(|p| query.matches(p.as_str()))
    }

    /// What its deadline is computed from.
    pub fn deadline_terms(&self) -> DeadlineTerms {
        DeadlineTerms {
            received_at: self.received_at,
            processing: self.processing,
            pause_rule: self.pause_rule,
        }
    }

    /// Checks the facts that types alone cannot. Every error names the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.code.unit() != &self.unit {
            return Err(ValidationError::new(
                "code",
                format!(
                    "code {} does not belong to receiving unit {}",
                    self.code, self.unit
                ),
            ));
        }
        let received = time::from_millis(self.received_at)
            .ok_or_else(|| ValidationError::new("received_at", "is out of range"))?;
        if time::vn_date(&received) != self.code.date() {
            return Err(ValidationError::new(
                "code",
                format!(
                    "code {} carries a different date from received_at {}",
                    self.code,
                    time::format_rfc3339(&received)
                ),
            ));
        }
        if self.due_at < self.received_at {
            return Err(ValidationError::new("due_at", "is before received_at"));
        }
        check_text("field", &self.field, 1, limits::SHORT)?;
        check_text("procedure.id", &self.procedure.id, 1, limits::SHORT)?;
        check_text(
            "procedure.version",
            &self.procedure.version,
            1,
            limits::SHORT,
        )?;
        check_text(
            "procedure.name",
            &self.procedure.name,
            1,
            limits::PROCEDURE_NAME,
        )?;
        check_text(
            "applicant.full_name",
            &self.applicant.full_name,
            1,
            limits::NAME,
        )?;
        check_text(
            "applicant.address",
            &self.applicant.address,
            0,
            limits::LONG,
        )?;
        check_text(
            "result_delivery.place",
            &self.result_delivery.place,
            0,
            limits::LONG,
        )?;
        if self.processing.amount > limits::PROCESSING_AMOUNT {
            return Err(ValidationError::new(
                "processing.amount",
                format!("must be at most {}", limits::PROCESSING_AMOUNT),
            ));
        }
        if !(1..=limits::SETS).contains(&self.sets) {
            return Err(ValidationError::new(
                "sets",
                format!("must be between 1 and {}", limits::SETS),
            ));
        }
        if self.documents.len() > limits::DOCUMENTS {
            return Err(ValidationError::new(
                "documents",
                format!("has more than {} rows", limits::DOCUMENTS),
            ));
        }
        for (i, doc) in self.documents.iter().enumerate() {
            check_text(&format!("documents[{i}].name"), &doc.name, 1, limits::LONG)?;
            if !(1..=limits::DOCUMENT_COUNT).contains(&doc.count) {
                return Err(ValidationError::new(
                    format!("documents[{i}].count"),
                    format!("must be between 1 and {}", limits::DOCUMENT_COUNT),
                ));
            }
        }
        if self.stages.is_empty() {
            return Err(ValidationError::new(
                "stages",
                "is empty: a dossier starts with 'received' or 'submitted'",
            ));
        }
        if self.stages.len() > limits::STAGES {
            return Err(ValidationError::new(
                "stages",
                format!("has more than {} entries", limits::STAGES),
            ));
        }
        for (i, entry) in self.stages.iter().enumerate() {
            check_text(&format!("stages[{i}].user"), &entry.user, 1, limits::SHORT)?;
            check_text(
                &format!("stages[{i}].device"),
                &entry.device,
                1,
                limits::SHORT,
            )?;
            check_text(&format!("stages[{i}].note"), &entry.note, 0, limits::NOTE)?;
            time::from_millis(entry.at).ok_or_else(|| {
                ValidationError::new(format!("stages[{i}].at"), "is out of range")
            })?;
            check_missing(i, entry.stage, &entry.missing)?;
        }
        let progress = self.progress();
        let first = progress.timeline.first().map(|e| e.stage);
        if !first.is_some_and(|s| s.is_initial()) {
            return Err(ValidationError::new(
                "stages",
                format!(
                    "the earliest entry is '{}', but a dossier starts with 'received' or 'submitted'",
                    first.map_or("none", |s| s.as_str())
                ),
            ));
        }
        Ok(())
    }
}

/// A dossier's status and deadline at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub progress: Progress,
    /// The appointment after waits, as of that moment (or as of the finish).
    pub due: Due,
    pub timeliness: Timeliness,
}

/// Limits that keep one dossier small whatever a device sends.
pub mod limits {
    pub const SHORT: usize = 100;
    pub const NAME: usize = 200;
    pub const LONG: usize = 500;
    /// Official procedure names run long (the longest seeded is 569 characters).
    pub const PROCEDURE_NAME: usize = 2000;
    pub const NOTE: usize = 2000;
    pub const DOCUMENTS: usize = 100;
    pub const DOCUMENT_COUNT: u32 = 1000;
    pub const SETS: u32 = 100;
    pub const STAGES: usize = 1000;
    pub const PROCESSING_AMOUNT: u32 = 3650;
}

fn check_text(
    field: &str,
    value: &str,
    min_chars: usize,
    max_chars: usize,
) -> Result<(), ValidationError> {
    let n = value.chars().count();
    if n < min_chars {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if n > max_chars {
        return Err(ValidationError::new(
            field,
            format!("is longer than {max_chars} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ValidationError::new(field, "contains control characters"));
    }
    Ok(())
}

/// The missing documents of stage `i`: only a supplement request lists
/// them, each a name, at most as many as the table of documents holds.
pub(crate) fn check_missing(
    i: usize,
    stage: crate::stage::Stage,
    missing: &[String],
) -> Result<(), ValidationError> {
    if missing.is_empty() {
        return Ok(());
    }
    if stage != crate::stage::Stage::SupplementRequested {
        return Err(ValidationError::new(
            format!("stages[{i}].missing"),
            "is only for a supplement request",
        ));
    }
    if missing.len() > limits::DOCUMENTS {
        return Err(ValidationError::new(
            format!("stages[{i}].missing"),
            format!("has more than {} items", limits::DOCUMENTS),
        ));
    }
    for (j, name) in missing.iter().enumerate() {
        check_text(&format!("stages[{i}].missing[{j}]"), name, 1, limits::LONG)?;
    }
    Ok(())
}

/// A dossier that is not valid, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("field '{field}' {problem}")]
pub struct ValidationError {
    /// A path such as `applicant.phone` or `stages[3].stage`.
    pub field: String,
    pub problem: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Checks that `after` may replace `before` on a replica that did not make
/// the change: the facts fixed at receipt stay put and the stage log only
/// grows (entries are never edited or removed).
pub fn validate_update(before: &Dossier, after: &Dossier) -> Result<(), ValidationError> {
    let fixed = |field: &str, same: bool| {
        if same {
            Ok(())
        } else {
            Err(ValidationError::new(
                field,
                "was fixed at receipt and cannot change",
            ))
        }
    };
    fixed("code", before.code == after.code)?;
    fixed("unit", before.unit == after.unit)?;
    fixed("field", before.field == after.field)?;
    fixed("procedure", before.procedure == after.procedure)?;
    fixed("processing", before.processing == after.processing)?;
    fixed("pause_rule", before.pause_rule == after.pause_rule)?;
    fixed("received_at", before.received_at == after.received_at)?;
    fixed("due_at", before.due_at == after.due_at)?;
    for (i, old) in before.stages.iter().enumerate() {
        match after.stages.iter().find(|e| e.id == old.id) {
            None => {
                return Err(ValidationError::new(
                    format!("stages[{i}]"),
                    "was removed, but the stage log is append-only",
                ));
            }
            Some(new) if new != old => {
                return Err(ValidationError::new(
                    format!("stages[{i}]"),
                    "was edited, but the stage log is append-only",
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
