//! One dossier as one Automerge document.
//!
//! Layout (schema version 1). Every scalar lives in a map so that concurrent
//! edits of one field surface as Automerge conflicts rather than merged text:
//!
//! ```text
//! { type: "dossier", schema: 1,
//!   code, unit, field, channel: str,
//!   procedure: { id, version, name },
//!   processing: { amount: uint, unit: "working_days" | "working_hours" },
//!   pause_rule: "extend" | "restart",
//!   applicant: { full_name, id_number, phone ("" when none), address },
//!   documents: [ { name, form, count: uint } ],
//!   sets: uint, received_at: timestamp, due_at: timestamp,
//!   fee: { amount_vnd: uint, paid: bool },
//!   result_delivery: { method, place },
//!   stages: [ { stage, at: timestamp, user, device, unit, note,
//!               missing?: [str] } ] }
//! ```
//!
//! `missing` is written only on a supplement request, listing the documents
//! the citizen must bring. Documents written before it existed kept that
//! list in the note, each line `- name` (notes are stored on one line, so
//! what was typed as several lines reads as one item); reading turns those
//! lines into the list, as Form 02 printed them.
//!
//! Reading is strict: a missing key, a key of the wrong type or an unknown key
//! is a [`ValidationError`] that names it, so a hub can refuse a document a
//! buggy or hostile device made.

use std::collections::BTreeSet;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, Automerge, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value,
};
use serde::{Deserialize, Serialize};

use super::{
    Applicant, Channel, DeliveryMethod, DocumentForm, Dossier, Fee, HandedDocument, ProcedureRef,
    ResultDelivery, ValidationError, check_missing,
};
use crate::deadline::{PauseRule, ProcessingTime, TimeUnit};
use crate::ids::{DossierCode, IdNumber, PhoneNumber, UnitCode};
use crate::search::normalize;
use crate::stage::{Progress, Stage, StageEntry, TransitionError, check_transition};

pub const SCHEMA_VERSION: u64 = 1;
const DOC_TYPE: &str = "dossier";

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the document could not be decoded: {0}")]
    Decode(#[source] Box<automerge::AutomergeError>),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("the document could not be written: {0}")]
    Write(#[source] Box<automerge::AutomergeError>),
}

/// Who and when, attached to every change so that conflicts can say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeMeta {
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// A short description, e.g. `stage received by clerk1`.
    pub message: String,
}

/// A stage to append to the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewStage {
    pub stage: Stage,
    pub at: i64,
    pub user: String,
    pub device: String,
    pub unit: UnitCode,
    #[serde(default)]
    pub note: String,
}

/// A field that can be edited after receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditableField {
    ApplicantFullName,
    ApplicantIdNumber,
    ApplicantPhone,
    ApplicantAddress,
    Channel,
    Sets,
    FeeAmount,
    FeePaid,
    ResultMethod,
    ResultPlace,
}

impl EditableField {
    pub const ALL: [EditableField; 10] = [
        EditableField::ApplicantFullName,
        EditableField::ApplicantIdNumber,
        EditableField::ApplicantPhone,
        EditableField::ApplicantAddress,
        EditableField::Channel,
        EditableField::Sets,
        EditableField::FeeAmount,
        EditableField::FeePaid,
        EditableField::ResultMethod,
        EditableField::ResultPlace,
    ];

    /// The map holding the field (`None` for the root) and its key.
    fn location(self) -> (Option<&'static str>, &'static str) {
        match self {
            EditableField::ApplicantFullName => (Some("applicant"), "full_name"),
            EditableField::ApplicantIdNumber => (Some("applicant"), "id_number"),
            EditableField::ApplicantPhone => (Some("applicant"), "phone"),
            EditableField::ApplicantAddress => (Some("applicant"), "address"),
            EditableField::Channel => (None, "channel"),
            EditableField::Sets => (None, "sets"),
            EditableField::FeeAmount => (Some("fee"), "amount_vnd"),
            EditableField::FeePaid => (Some("fee"), "paid"),
            EditableField::ResultMethod => (Some("result_delivery"), "method"),
            EditableField::ResultPlace => (Some("result_delivery"), "place"),
        }
    }

    /// The dotted path used in errors, conflicts and the API.
    pub fn path(self) -> String {
        match self.location() {
            (Some(map), key) => format!("{map}.{key}"),
            (None, key) => key.to_string(),
        }
    }

    pub fn from_path(path: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.path() == path)
    }

    /// Parses a value typed by a user into what the document stores.
    fn parse_value(self, raw: &str) -> Result<ScalarValue, ValidationError> {
        let path = self.path();
        let bad = |problem: String| ValidationError::new(path.clone(), problem);
        Ok(match self {
            EditableField::ApplicantFullName
            | EditableField::ApplicantAddress
            | EditableField::ResultPlace => ScalarValue::Str(normalize(raw).into()),
            EditableField::ApplicantIdNumber => ScalarValue::Str(
                IdNumber::parse(raw)
                    .map_err(|e| bad(e.to_string()))?
                    .as_str()
                    .into(),
            ),
            EditableField::ApplicantPhone if raw.trim().is_empty() => ScalarValue::Str("".into()),
            EditableField::ApplicantPhone => ScalarValue::Str(
                PhoneNumber::parse(raw)
                    .map_err(|e| bad(e.to_string()))?
                    .as_str()
                    .into(),
            ),
            EditableField::Channel => {
                let c = Channel::parse(raw.trim())
                    .ok_or_else(|| bad(format!("must be one of: {}", Channel::CHOICES)))?;
                ScalarValue::Str(c.as_str().into())
            }
            EditableField::ResultMethod => {
                let m = DeliveryMethod::parse(raw.trim())
                    .ok_or_else(|| bad(format!("must be one of: {}", DeliveryMethod::CHOICES)))?;
                ScalarValue::Str(m.as_str().into())
            }
            EditableField::Sets | EditableField::FeeAmount => ScalarValue::Uint(
                raw.trim()
                    .parse()
                    .map_err(|_| bad("must be a whole number".into()))?,
            ),
            EditableField::FeePaid => ScalarValue::Boolean(match raw.trim() {
                "true" | "1" | "yes" | "có" => true,
                "false" | "0" | "no" | "không" => false,
                _ => return Err(bad("must be true or false".into())),
            }),
        })
    }
}

/// One of the values a field holds after concurrent edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictingValue {
    /// The value as text, as a user would type it.
    pub value: String,
    /// The Automerge actor that wrote it (bound to a device at enrolment).
    pub actor: String,
    /// When the change that wrote it was made, if known.
    pub at: Option<i64>,
    /// The description of the change that wrote it, which names who made it
    /// (e.g. `edit applicant.phone by canbo.tanphong`), if known.
    pub by: Option<String>,
    /// Whether this is the value every replica currently shows.
    pub shown: bool,
}

/// A field that was edited concurrently and holds several values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    pub field: EditableField,
    pub path: String,
    pub values: Vec<ConflictingValue>,
}

/// A dossier's replicated document.
#[derive(Debug, Clone)]
pub struct DossierDoc {
    doc: Automerge,
}

impl DossierDoc {
    /// Records a new dossier: writes every field and the first stage in one
    /// change. `dossier.stages` must be empty; `first` becomes the log's
    /// first entry.
    pub fn create(
        actor: ActorId,
        dossier: &Dossier,
        first: NewStage,
    ) -> Result<Self, DocumentError> {
        if !dossier.stages.is_empty() {
            return Err(ValidationError::new(
                "stages",
                "must be empty when creating; pass the first stage separately",
            )
            .into());
        }
        check_transition(None, first.stage)?;
        let mut preview = dossier.clone();
        preview.stages.push(StageEntry {
            id: "new".into(),
            stage: first.stage,
            at: first.at,
            user: first.user.clone(),
            device: first.device.clone(),
            unit: first.unit.clone(),
            note: normalize(&first.note),
            missing: Vec::new(),
        });
        normalize_dossier(&mut preview);
        preview.validate()?;

        let mut doc = Automerge::new().with_actor(actor);
        let meta = ChangeMeta {
            at: first.at,
            message: format!("receive {}", dossier.code),
        };
        doc.transact_with(
            |_| commit_options(&meta),
            |tx| -> Result<(), automerge::AutomergeError> {
                let d = &preview;
                tx.put(ROOT, "type", DOC_TYPE)?;
                tx.put(ROOT, "schema", SCHEMA_VERSION)?;
                tx.put(ROOT, "code", d.code.to_string())?;
                tx.put(ROOT, "unit", d.unit.as_str())?;
                tx.put(ROOT, "field", d.field.as_str())?;
                tx.put(ROOT, "channel", d.channel.as_str())?;
                let procedure = tx.put_object(ROOT, "procedure", ObjType::Map)?;
                tx.put(&procedure, "id", d.procedure.id.as_str())?;
                tx.put(&procedure, "version", d.procedure.version.as_str())?;
                tx.put(&procedure, "name", d.procedure.name.as_str())?;
                let processing = tx.put_object(ROOT, "processing", ObjType::Map)?;
                tx.put(&processing, "amount", u64::from(d.processing.amount))?;
                tx.put(&processing, "unit", d.processing.unit.as_str())?;
                tx.put(ROOT, "pause_rule", d.pause_rule.as_str())?;
                let applicant = tx.put_object(ROOT, "applicant", ObjType::Map)?;
                tx.put(&applicant, "full_name", d.applicant.full_name.as_str())?;
                tx.put(&applicant, "id_number", d.applicant.id_number.as_str())?;
                tx.put(
                    &applicant,
                    "phone",
                    d.applicant.phone.as_ref().map_or("", |p| p.as_str()),
                )?;
                tx.put(&applicant, "address", d.applicant.address.as_str())?;
                let documents = tx.put_object(ROOT, "documents", ObjType::List)?;
                write_documents(tx, &documents, &d.documents)?;
                tx.put(ROOT, "sets", u64::from(d.sets))?;
                tx.put(ROOT, "received_at", ScalarValue::Timestamp(d.received_at))?;
                tx.put(ROOT, "due_at", ScalarValue::Timestamp(d.due_at))?;
                let fee = tx.put_object(ROOT, "fee", ObjType::Map)?;
                tx.put(&fee, "amount_vnd", d.fee.amount_vnd)?;
                tx.put(&fee, "paid", d.fee.paid)?;
                let result = tx.put_object(ROOT, "result_delivery", ObjType::Map)?;
                tx.put(&result, "method", d.result_delivery.method.as_str())?;
                tx.put(&result, "place", d.result_delivery.place.as_str())?;
                let stages = tx.put_object(ROOT, "stages", ObjType::List)?;
                write_stage(tx, &stages, 0, &first)?;
                Ok(())
            },
        )
        .map_err(|failure| DocumentError::Write(Box::new(failure.error)))?;
        Ok(Self { doc })
    }

    /// Decodes a saved document (or concatenated saves and changes). Decoding
    /// does not validate: call [`DossierDoc::read`].
    pub fn load(bytes: &[u8]) -> Result<Self, DocumentError> {
        Automerge::load(bytes)
            .map(Self::from_automerge)
            .map_err(|e| DocumentError::Decode(Box::new(e)))
    }

    pub fn from_automerge(doc: Automerge) -> Self {
        Self { doc }
    }

    pub fn automerge(&self) -> &Automerge {
        &self.doc
    }

    pub fn automerge_mut(&mut self) -> &mut Automerge {
        &mut self.doc
    }

    pub fn into_automerge(self) -> Automerge {
        self.doc
    }

    /// Sets the actor that signs this replica's next changes.
    pub fn set_actor(&mut self, actor: ActorId) {
        self.doc.set_actor(actor);
    }

    pub fn heads(&self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    pub fn save(&self) -> Vec<u8> {
        self.doc.save()
    }

    /// Merges another replica of the same dossier into this one.
    pub fn merge(&mut self, other: &mut DossierDoc) -> Result<(), DocumentError> {
        self.doc
            .merge(&mut other.doc)
            .map(|_| ())
            .map_err(|e| DocumentError::Decode(Box::new(e)))
    }

    /// Reads and validates the whole dossier.
    pub fn read(&self) -> Result<Dossier, ValidationError> {
        Self::read_from(&self.doc)
    }

    /// Reads and validates a dossier straight from an Automerge document,
    /// without wrapping (or copying) it.
    pub fn read_from(doc: &Automerge) -> Result<Dossier, ValidationError> {
        let r = Reader { doc };
        r.only_keys(
            &ROOT,
            "",
            &[
                "type",
                "schema",
                "code",
                "unit",
                "field",
                "channel",
                "procedure",
                "processing",
                "pause_rule",
                "applicant",
                "documents",
                "sets",
                "received_at",
                "due_at",
                "fee",
                "result_delivery",
                "stages",
            ],
        )?;
        if r.str(&ROOT, "", "type")? != DOC_TYPE {
            return Err(ValidationError::new(
                "type",
                format!("must be \"{DOC_TYPE}\""),
            ));
        }
        let schema = r.uint(&ROOT, "", "schema")?;
        if schema != SCHEMA_VERSION {
            return Err(ValidationError::new(
                "schema",
                format!(
                    "is version {schema}, but this software reads version {SCHEMA_VERSION}; update the software"
                ),
            ));
        }
        let code = r.parsed(&ROOT, "", "code", DossierCode::parse)?;
        let unit = r.parsed(&ROOT, "", "unit", UnitCode::parse)?;
        let channel = r.parsed(&ROOT, "", "channel", |s| {
            Channel::parse(s).ok_or(Channel::CHOICES)
        })?;

        let procedure = r.map(&ROOT, "", "procedure")?;
        r.only_keys(&procedure, "procedure", &["id", "version", "name"])?;
        let processing = r.map(&ROOT, "", "processing")?;
        r.only_keys(&processing, "processing", &["amount", "unit"])?;
        let applicant = r.map(&ROOT, "", "applicant")?;
        r.only_keys(
            &applicant,
            "applicant",
            &["full_name", "id_number", "phone", "address"],
        )?;
        let fee = r.map(&ROOT, "", "fee")?;
        r.only_keys(&fee, "fee", &["amount_vnd", "paid"])?;
        let result = r.map(&ROOT, "", "result_delivery")?;
        r.only_keys(&result, "result_delivery", &["method", "place"])?;

        let phone = r.str(&applicant, "applicant", "phone")?;
        let dossier = Dossier {
            code,
            unit,
            field: r.str(&ROOT, "", "field")?,
            procedure: ProcedureRef {
                id: r.str(&procedure, "procedure", "id")?,
                version: r.str(&procedure, "procedure", "version")?,
                name: r.str(&procedure, "procedure", "name")?,
            },
            processing: ProcessingTime {
                amount: r.small_uint(&processing, "processing", "amount")?,
                unit: r.parsed(&processing, "processing", "unit", |s| {
                    TimeUnit::parse(s).ok_or("working_days working_hours")
                })?,
            },
            pause_rule: r.parsed(&ROOT, "", "pause_rule", |s| {
                PauseRule::parse(s).ok_or("extend restart")
            })?,
            channel,
            applicant: Applicant {
                full_name: r.str(&applicant, "applicant", "full_name")?,
                id_number: r.parsed(&applicant, "applicant", "id_number", IdNumber::parse)?,
                phone: if phone.is_empty() {
                    None
                } else {
                    Some(
                        PhoneNumber::parse(&phone)
                            .map_err(|e| ValidationError::new("applicant.phone", e.to_string()))?,
                    )
                },
                address: r.str(&applicant, "applicant", "address")?,
            },
            documents: r.documents()?,
            sets: r.small_uint(&ROOT, "", "sets")?,
            received_at: r.timestamp(&ROOT, "", "received_at")?,
            due_at: r.timestamp(&ROOT, "", "due_at")?,
            fee: Fee {
                amount_vnd: r.uint(&fee, "fee", "amount_vnd")?,
                paid: r.bool(&fee, "fee", "paid")?,
            },
            result_delivery: ResultDelivery {
                method: r.parsed(&result, "result_delivery", "method", |s| {
                    DeliveryMethod::parse(s).ok_or(DeliveryMethod::CHOICES)
                })?,
                place: r.str(&result, "result_delivery", "place")?,
            },
            stages: r.stages()?,
        };
        dossier.validate()?;
        Ok(dossier)
    }

    /// The status derived from the stage log.
    pub fn progress(&self) -> Result<Progress, ValidationError> {
        Ok(Progress::derive(&Reader { doc: &self.doc }.stages()?))
    }

    /// Appends a stage, if the dossier's current stage allows it.
    pub fn record_stage(&mut self, stage: NewStage) -> Result<StageEntry, DocumentError> {
        self.append_stage(stage, Vec::new())
    }

    /// Appends a supplement request (Form 02) listing the documents the
    /// citizen must still bring.
    pub fn request_supplement(
        &mut self,
        stage: NewStage,
        missing: Vec<String>,
    ) -> Result<StageEntry, DocumentError> {
        if stage.stage != Stage::SupplementRequested {
            return Err(ValidationError::new(
                "stage",
                format!(
                    "is '{}', but only '{}' lists missing documents",
                    stage.stage,
                    Stage::SupplementRequested
                ),
            )
            .into());
        }
        self.append_stage(stage, missing)
    }

    fn append_stage(
        &mut self,
        stage: NewStage,
        missing: Vec<String>,
    ) -> Result<StageEntry, DocumentError> {
        let current = self.progress()?.current;
        check_transition(current, stage.stage)?;
        let mut stage = stage;
        stage.note = normalize(&stage.note);
        let missing: Vec<String> = missing.iter().map(|m| normalize(m)).collect();
        let meta = ChangeMeta {
            at: stage.at,
            message: format!("stage {} by {}", stage.stage, stage.user),
        };
        let stages = Reader { doc: &self.doc }.list(&ROOT, "", "stages")?;
        let index = self.doc.length(&stages);
        check_missing(index, stage.stage, &missing)?;
        let entry_id = self
            .doc
            .transact_with(
                |_| commit_options(&meta),
                |tx| {
                    let item = write_stage(tx, &stages, index, &stage)?;
                    if !missing.is_empty() {
                        let list = tx.put_object(&item, "missing", ObjType::List)?;
                        for (i, name) in missing.iter().enumerate() {
                            tx.insert(&list, i, name.as_str())?;
                        }
                    }
                    Ok::<_, automerge::AutomergeError>(item)
                },
            )
            .map_err(|failure| DocumentError::Write(Box::new(failure.error)))?
            .result;
        let entry = StageEntry {
            id: entry_id.to_string(),
            stage: stage.stage,
            at: stage.at,
            user: stage.user,
            device: stage.device,
            unit: stage.unit,
            note: stage.note,
            missing,
        };
        Ok(entry)
    }

    /// Sets one editable field from the text a user typed. Choosing one of
    /// the values of a conflict is the same operation: the new write replaces
    /// every concurrent value.
    pub fn set_field(
        &mut self,
        field: EditableField,
        raw: &str,
        meta: &ChangeMeta,
    ) -> Result<(), DocumentError> {
        let value = field.parse_value(raw)?;
        let obj = self.field_object(field)?;
        let mut preview = self.doc.fork();
        let (_, key) = field.location();
        let write = |doc: &mut Automerge| {
            doc.transact_with(
                |_| commit_options(meta),
                |tx| tx.put(&obj, key, value.clone()),
            )
            .map(|_| ())
            .map_err(|failure| DocumentError::Write(Box::new(failure.error)))
        };
        // Validate on a fork so an invalid value never enters the document.
        write(&mut preview)?;
        DossierDoc::from_automerge(preview).read()?;
        write(&mut self.doc)
    }

    /// Replaces the table of documents handed in.
    pub fn set_documents(
        &mut self,
        rows: &[HandedDocument],
        meta: &ChangeMeta,
    ) -> Result<(), DocumentError> {
        let list = Reader { doc: &self.doc }.list(&ROOT, "", "documents")?;
        let mut rows = rows.to_vec();
        for row in &mut rows {
            row.name = normalize(&row.name);
        }
        let write = |doc: &mut Automerge| {
            doc.transact_with(
                |_| commit_options(meta),
                |tx| {
                    for i in (0..tx.length(&list)).rev() {
                        tx.delete(&list, i)?;
                    }
                    write_documents(tx, &list, &rows)
                },
            )
            .map(|_| ())
            .map_err(|failure| DocumentError::Write(Box::new(failure.error)))
        };
        let mut preview = self.doc.fork();
        write(&mut preview)?;
        DossierDoc::from_automerge(preview).read()?;
        write(&mut self.doc)
    }

    /// The fields that hold several values after concurrent edits, with who
    /// wrote each value and when.
    pub fn conflicts(&self) -> Vec<FieldConflict> {
        let mut out = Vec::new();
        for field in EditableField::ALL {
            let Ok(obj) = self.field_object(field) else {
                continue;
            };
            let (_, key) = field.location();
            let Ok(values) = self.doc.get_all(&obj, key) else {
                continue;
            };
            if values.len() < 2 {
                continue;
            }
            let shown = self.doc.get(&obj, key).ok().flatten().map(|(_, id)| id);
            let mut listed: Vec<ConflictingValue> = values
                .iter()
                .map(|(value, id)| {
                    let change = self
                        .doc
                        .hash_for_opid(id)
                        .and_then(|hash| self.doc.get_change_meta_by_hash(&hash));
                    ConflictingValue {
                        value: display_scalar(value),
                        actor: match id {
                            ObjId::Id(_, actor, _) => actor.to_hex_string(),
                            ObjId::Root => String::new(),
                        },
                        at: change.as_ref().map(|meta| meta.timestamp),
                        by: change.and_then(|meta| meta.message.map(|m| m.to_string())),
                        shown: shown.as_ref() == Some(id),
                    }
                })
                .collect();
            listed.sort_by(|a, b| b.shown.cmp(&a.shown).then(a.at.cmp(&b.at)));
            out.push(FieldConflict {
                field,
                path: field.path(),
                values: listed,
            });
        }
        out
    }

    /// The Automerge actors that signed changes in this document.
    pub fn actors(&self) -> BTreeSet<ActorId> {
        self.doc
            .get_changes_meta(&[])
            .into_iter()
            .map(|m| m.actor.into_owned())
            .collect()
    }

    fn field_object(&self, field: EditableField) -> Result<ObjId, ValidationError> {
        match field.location() {
            (Some(map), _) => Reader { doc: &self.doc }.map(&ROOT, "", map),
            (None, _) => Ok(ROOT),
        }
    }
}

fn commit_options(meta: &ChangeMeta) -> CommitOptions {
    CommitOptions::default()
        .with_time(meta.at)
        .with_message(meta.message.clone())
}

fn write_documents(
    tx: &mut impl Transactable,
    list: &ObjId,
    rows: &[HandedDocument],
) -> Result<(), automerge::AutomergeError> {
    for (i, row) in rows.iter().enumerate() {
        let item = tx.insert_object(list, i, ObjType::Map)?;
        tx.put(&item, "name", row.name.as_str())?;
        tx.put(&item, "form", row.form.as_str())?;
        tx.put(&item, "count", u64::from(row.count))?;
    }
    Ok(())
}

fn write_stage(
    tx: &mut impl Transactable,
    list: &ObjId,
    index: usize,
    stage: &NewStage,
) -> Result<ObjId, automerge::AutomergeError> {
    let item = tx.insert_object(list, index, ObjType::Map)?;
    tx.put(&item, "stage", stage.stage.as_str())?;
    tx.put(&item, "at", ScalarValue::Timestamp(stage.at))?;
    tx.put(&item, "user", stage.user.as_str())?;
    tx.put(&item, "device", stage.device.as_str())?;
    tx.put(&item, "unit", stage.unit.as_str())?;
    tx.put(&item, "note", stage.note.as_str())?;
    Ok(item)
}

/// A supplement request written before the list had its own field: its
/// note held one `- ` line per missing document, then the clerk's note.
/// Returns the documents and the rest of the note.
fn split_old_supplement_note(note: &str) -> (Vec<String>, String) {
    let mut missing = Vec::new();
    let mut rest = Vec::new();
    for line in note.lines().filter(|l| !l.trim().is_empty()) {
        match line.strip_prefix("- ") {
            Some(item) => missing.push(item.trim().to_string()),
            None => rest.push(line),
        }
    }
    (missing, rest.join("\n"))
}

/// Brings every text field to NFC so equal names compare equal everywhere.
fn normalize_dossier(d: &mut Dossier) {
    d.field = normalize(&d.field);
    d.procedure.name = normalize(&d.procedure.name);
    d.applicant.full_name = normalize(&d.applicant.full_name);
    d.applicant.address = normalize(&d.applicant.address);
    d.result_delivery.place = normalize(&d.result_delivery.place);
    for row in &mut d.documents {
        row.name = normalize(&row.name);
    }
}

fn display_scalar(value: &Value<'_>) -> String {
    match value {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            ScalarValue::Uint(n) => n.to_string(),
            ScalarValue::Int(n) => n.to_string(),
            ScalarValue::Boolean(b) => b.to_string(),
            ScalarValue::Timestamp(t) => t.to_string(),
            other => format!("{other:?}"),
        },
        Value::Object(kind) => format!("({kind:?})"),
    }
}

/// Strict, path-aware reads of a document.
struct Reader<'a> {
    doc: &'a Automerge,
}

fn path_of(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl Reader<'_> {
    fn scalar(&self, obj: &ObjId, parent: &str, key: &str) -> Result<ScalarValue, ValidationError> {
        let path = path_of(parent, key);
        match self.doc.get(obj, key) {
            Ok(Some((Value::Scalar(s), _))) => Ok(s.into_owned()),
            Ok(Some((Value::Object(_), _))) => {
                Err(ValidationError::new(path, "must be a value, not an object"))
            }
            Ok(None) => Err(ValidationError::new(path, "is missing")),
            Err(e) => Err(ValidationError::new(path, format!("cannot be read: {e}"))),
        }
    }

    fn str(&self, obj: &ObjId, parent: &str, key: &str) -> Result<String, ValidationError> {
        match self.scalar(obj, parent, key)? {
            ScalarValue::Str(s) => Ok(s.to_string()),
            _ => Err(ValidationError::new(path_of(parent, key), "must be text")),
        }
    }

    fn parsed<T, E: std::fmt::Display>(
        &self,
        obj: &ObjId,
        parent: &str,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, ValidationError> {
        let raw = self.str(obj, parent, key)?;
        parse(&raw)
            .map_err(|e| ValidationError::new(path_of(parent, key), format!("is not valid: {e}")))
    }

    fn uint(&self, obj: &ObjId, parent: &str, key: &str) -> Result<u64, ValidationError> {
        match self.scalar(obj, parent, key)? {
            ScalarValue::Uint(n) => Ok(n),
            ScalarValue::Int(n) if n >= 0 => Ok(n as u64),
            _ => Err(ValidationError::new(
                path_of(parent, key),
                "must be a whole number",
            )),
        }
    }

    fn small_uint(&self, obj: &ObjId, parent: &str, key: &str) -> Result<u32, ValidationError> {
        u32::try_from(self.uint(obj, parent, key)?)
            .map_err(|_| ValidationError::new(path_of(parent, key), "is too large"))
    }

    fn bool(&self, obj: &ObjId, parent: &str, key: &str) -> Result<bool, ValidationError> {
        match self.scalar(obj, parent, key)? {
            ScalarValue::Boolean(b) => Ok(b),
            _ => Err(ValidationError::new(
                path_of(parent, key),
                "must be true or false",
            )),
        }
    }

    fn timestamp(&self, obj: &ObjId, parent: &str, key: &str) -> Result<i64, ValidationError> {
        match self.scalar(obj, parent, key)? {
            ScalarValue::Timestamp(t) => Ok(t),
            _ => Err(ValidationError::new(
                path_of(parent, key),
                "must be a timestamp",
            )),
        }
    }

    fn object(
        &self,
        obj: &ObjId,
        parent: &str,
        key: &str,
        kind: ObjType,
    ) -> Result<ObjId, ValidationError> {
        let path = path_of(parent, key);
        match self.doc.get(obj, key) {
            Ok(Some((Value::Object(found), id))) if found == kind => Ok(id),
            Ok(Some(_)) => Err(ValidationError::new(path, format!("must be a {kind:?}"))),
            Ok(None) => Err(ValidationError::new(path, "is missing")),
            Err(e) => Err(ValidationError::new(path, format!("cannot be read: {e}"))),
        }
    }

    fn map(&self, obj: &ObjId, parent: &str, key: &str) -> Result<ObjId, ValidationError> {
        self.object(obj, parent, key, ObjType::Map)
    }

    fn list(&self, obj: &ObjId, parent: &str, key: &str) -> Result<ObjId, ValidationError> {
        self.object(obj, parent, key, ObjType::List)
    }

    fn only_keys(&self, obj: &ObjId, path: &str, allowed: &[&str]) -> Result<(), ValidationError> {
        match self.doc.keys(obj).find(|k| !allowed.contains(&k.as_str())) {
            Some(unknown) => Err(ValidationError::new(
                path_of(path, &unknown),
                "is not a known field",
            )),
            None => Ok(()),
        }
    }

    fn list_items(
        &self,
        list: &ObjId,
        path: &str,
    ) -> Result<Vec<(String, ObjId)>, ValidationError> {
        (0..self.doc.length(list))
            .map(|i| {
                let item_path = format!("{path}[{i}]");
                match self.doc.get(list, i) {
                    Ok(Some((Value::Object(ObjType::Map), id))) => Ok((item_path, id)),
                    _ => Err(ValidationError::new(item_path, "must be an object")),
                }
            })
            .collect()
    }

    /// A list of text items.
    fn texts(&self, obj: &ObjId, parent: &str, key: &str) -> Result<Vec<String>, ValidationError> {
        let path = path_of(parent, key);
        let list = self.list(obj, parent, key)?;
        (0..self.doc.length(&list))
            .map(|i| match self.doc.get(&list, i) {
                Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
                    ScalarValue::Str(s) => Ok(s.to_string()),
                    _ => Err(ValidationError::new(format!("{path}[{i}]"), "must be text")),
                },
                _ => Err(ValidationError::new(format!("{path}[{i}]"), "must be text")),
            })
            .collect()
    }

    fn documents(&self) -> Result<Vec<HandedDocument>, ValidationError> {
        let list = self.list(&ROOT, "", "documents")?;
        self.list_items(&list, "documents")?
            .into_iter()
            .map(|(path, item)| {
                self.only_keys(&item, &path, &["name", "form", "count"])?;
                Ok(HandedDocument {
                    name: self.str(&item, &path, "name")?,
                    form: self.parsed(&item, &path, "form", |s| {
                        DocumentForm::parse(s).ok_or(DocumentForm::CHOICES)
                    })?,
                    count: self.small_uint(&item, &path, "count")?,
                })
            })
            .collect()
    }

    fn stages(&self) -> Result<Vec<StageEntry>, ValidationError> {
        let list = self.list(&ROOT, "", "stages")?;
        self.list_items(&list, "stages")?
            .into_iter()
            .map(|(path, item)| {
                self.only_keys(
                    &item,
                    &path,
                    &["stage", "at", "user", "device", "unit", "note", "missing"],
                )?;
                let stage = self.parsed(&item, &path, "stage", |s| s.parse::<Stage>())?;
                let mut note = self.str(&item, &path, "note")?;
                let missing = match self.doc.get(&item, "missing") {
                    Ok(None) if stage == Stage::SupplementRequested => {
                        let (missing, rest) = split_old_supplement_note(&note);
                        note = rest;
                        missing
                    }
                    Ok(None) => Vec::new(),
                    _ => self.texts(&item, &path, "missing")?,
                };
                Ok(StageEntry {
                    id: item.to_string(),
                    stage,
                    at: self.timestamp(&item, &path, "at")?,
                    user: self.str(&item, &path, "user")?,
                    device: self.str(&item, &path, "device")?,
                    unit: self.parsed(&item, &path, "unit", UnitCode::parse)?,
                    note,
                    missing,
                })
            })
            .collect()
    }
}
