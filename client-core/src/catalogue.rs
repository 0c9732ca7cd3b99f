//! The procedure catalogue (danh mục thủ tục hành chính).
//!
//! What a counter needs to receive a dossier: each procedure's national code
//! and version, its field (lĩnh vực), who resolves it, its statutory
//! processing time and pause rule, the fee, the documents to collect (printed
//! on receipt form 01) and what the citizen gets back. Fields are data too, so
//! that a province can add its own.
//!
//! A catalogue only exists validated: [`Catalogue::from_json`] parses and then
//! runs [`Catalogue::validate`], which reports every problem at once, each
//! naming the procedure (code and version) or field and what is wrong.
//! [`Catalogue::seed`] is the catalogue shipped in `data/procedures.json`.
//!
//! Procedures are versioned because the law changes while dossiers are open: a
//! dossier keeps the version it was received under, and new dossiers use the
//! latest version. Versions are dot-separated numbers (`2025.1`) and compare
//! numerically.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::deadline::{PauseRule, ProcessingTime, TimeUnit};
use crate::search::{SearchQuery, normalize};

/// The catalogue shipped with the application.
pub const SEED_JSON: &str = include_str!("../data/procedures.json");

/// Identifier of a field (lĩnh vực), e.g. `tu_phap_ho_tich`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldId(pub String);

impl FieldId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A field (lĩnh vực): a counter's area of work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub id: FieldId,
    pub name_vi: String,
    pub name_en: String,
    /// The field this one sits under (chứng thực under tư pháp – hộ tịch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<FieldId>,
}

/// The administrative level whose authority resolves the procedure. The
/// dossier is received at the commune either way; for a province-level
/// procedure it travels up (liên thông) and back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolvingLevel {
    Commune,
    Province,
}

impl ResolvingLevel {
    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Commune => "Cấp xã",
            Self::Province => "Cấp tỉnh",
        }
    }
}

/// How far the procedure is offered online (Nghị định 42/2022/NĐ-CP, which
/// replaced the old levels 1–4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnlineService {
    /// Toàn trình: submitted, processed and returned online.
    Full,
    /// Một phần: part of it needs the citizen in person.
    Partial,
    /// Not offered online.
    None,
}

impl OnlineService {
    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Full => "Toàn trình",
            Self::Partial => "Một phần",
            Self::None => "Không cung cấp trực tuyến",
        }
    }
}

/// The fee (phí, lệ phí) for one dossier. `amount_vnd == 0` means free; the
/// note says how the amount is counted (per page, per copy) or who is exempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    pub amount_vnd: u64,
    #[serde(default)]
    pub note: String,
}

impl Fee {
    pub fn is_free(&self) -> bool {
        self.amount_vnd == 0
    }
}

/// Whether a document is handed in as an original, a copy, and so on. Printed
/// in the "bản chính / bản sao" column of receipt form 01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentForm {
    Original,
    Copy,
    CertifiedCopy,
    OriginalOrCopy,
}

impl DocumentForm {
    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Original => "Bản chính",
            Self::Copy => "Bản sao",
            Self::CertifiedCopy => "Bản sao có chứng thực",
            Self::OriginalOrCopy => "Bản chính hoặc bản sao",
        }
    }
}

/// One line of a procedure's document list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredDocument {
    pub name: String,
    pub form: DocumentForm,
    pub count: u32,
}

/// One version of an administrative procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    /// National procedure code (mã thủ tục), e.g. `1.001193`.
    pub id: String,
    /// Catalogue version of this procedure, e.g. `2025.1`.
    pub version: String,
    /// Full official name.
    pub name: String,
    pub field: FieldId,
    pub level: ResolvingLevel,
    pub online_service: OnlineService,
    pub processing_time: ProcessingTime,
    pub pause_rule: PauseRule,
    pub fee: Fee,
    pub required_documents: Vec<RequiredDocument>,
    /// Laws and decrees the procedure rests on, with any caveat about the
    /// data recorded here.
    pub legal_basis: String,
    /// What the citizen receives.
    pub result: String,
}

/// A problem found by [`Catalogue::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CatalogueError {
    #[error("field {field:?}: the id must be ASCII letters, digits, '_' or '-'")]
    BadFieldId { field: FieldId },
    #[error("field {field}: listed more than once")]
    DuplicateField { field: FieldId },
    #[error("field {field}: {attribute} is empty")]
    EmptyFieldText {
        field: FieldId,
        attribute: &'static str,
    },
    #[error(
        "field {field}: {attribute} is not normalised (expected NFC, trimmed, single spaces): {value:?}"
    )]
    FieldTextNotNormalized {
        field: FieldId,
        attribute: &'static str,
        value: String,
    },
    #[error("field {field}: parent {parent} is not a field of the catalogue")]
    UnknownParentField { field: FieldId, parent: FieldId },
    #[error("field {field}: following its parents leads back to itself")]
    FieldCycle { field: FieldId },
    #[error(
        "procedure {id:?}: the code must be ASCII letters, digits, '.', '-' or '_' (e.g. \"1.001193\")"
    )]
    BadProcedureId { id: String },
    #[error(
        "procedure {id} version {version:?}: the version must be numbers separated by dots (e.g. \"2025.1\")"
    )]
    BadVersion { id: String, version: String },
    #[error("procedure {id} version {version}: listed more than once")]
    DuplicateProcedure { id: String, version: String },
    #[error("procedure {id} version {version}: field {field} is not a field of the catalogue")]
    UnknownField {
        id: String,
        version: String,
        field: FieldId,
    },
    #[error("procedure {id} version {version}: {attribute} is empty")]
    EmptyText {
        id: String,
        version: String,
        attribute: String,
    },
    #[error(
        "procedure {id} version {version}: {attribute} is not normalised (expected NFC, trimmed, single spaces): {value:?}"
    )]
    TextNotNormalized {
        id: String,
        version: String,
        attribute: String,
        value: String,
    },
    #[error("procedure {id} version {version}: no required documents are listed")]
    NoDocuments { id: String, version: String },
    #[error(
        "procedure {id} version {version}: required document {document:?} has count 0; list at least 1 or remove it"
    )]
    ZeroCountDocument {
        id: String,
        version: String,
        document: String,
    },
    #[error(
        "procedure {id} version {version}: a same-day procedure must be written as 0 working days, not 0 working hours"
    )]
    SameDayNotInWorkingDays { id: String, version: String },
}

/// Every problem found in a catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<CatalogueError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the catalogue has {} problem(s):", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n- {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Why a catalogue could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("the catalogue is not JSON of the expected shape: {0}")]
    Parse(#[from] serde_json::Error),
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

/// Fields and procedures, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub fields: Vec<Field>,
    pub procedures: Vec<Procedure>,
}

impl Catalogue {
    /// The catalogue in `data/procedures.json`.
    pub fn seed() -> Self {
        // A unit test loads the same text, so this cannot fail in a build
        // whose tests pass.
        Self::from_json(SEED_JSON).expect("data/procedures.json must parse and validate")
    }

    /// Parse and validate.
    pub fn from_json(json: &str) -> Result<Self, LoadError> {
        let catalogue: Self = serde_json::from_str(json)?;
        catalogue.validate()?;
        Ok(catalogue)
    }

    /// Pretty JSON in the format [`Self::from_json`] reads.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Check everything a counter relies on; report every problem.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = Vec::new();
        self.validate_fields(&mut errors);
        let field_ids: HashSet<&FieldId> = self.fields.iter().map(|f| &f.id).collect();
        let mut seen: HashSet<(&str, Vec<u64>)> = HashSet::new();
        for p in &self.procedures {
            validate_procedure(p, &field_ids, &mut seen, &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(errors))
        }
    }

    fn validate_fields(&self, errors: &mut Vec<CatalogueError>) {
        let mut seen = HashSet::new();
        for f in &self.fields {
            if !is_code(f.id.as_str(), &['_', '-']) {
                errors.push(CatalogueError::BadFieldId {
                    field: f.id.clone(),
                });
            }
            if !seen.insert(&f.id) {
                errors.push(CatalogueError::DuplicateField {
                    field: f.id.clone(),
                });
            }
            for (attribute, value) in [("name_vi", &f.name_vi), ("name_en", &f.name_en)] {
                if value.is_empty() {
                    errors.push(CatalogueError::EmptyFieldText {
                        field: f.id.clone(),
                        attribute,
                    });
                } else if normalize(value) != *value {
                    errors.push(CatalogueError::FieldTextNotNormalized {
                        field: f.id.clone(),
                        attribute,
                        value: value.clone(),
                    });
                }
            }
        }
        let parents: HashMap<&FieldId, Option<&FieldId>> = self
            .fields
            .iter()
            .map(|f| (&f.id, f.parent.as_ref()))
            .collect();
        for f in &self.fields {
            let Some(parent) = &f.parent else { continue };
            if !parents.contains_key(parent) {
                errors.push(CatalogueError::UnknownParentField {
                    field: f.id.clone(),
                    parent: parent.clone(),
                });
                continue;
            }
            // Walk up at most as many steps as there are fields; longer means
            // a loop somewhere above, reported for the fields on it.
            let mut at = Some(parent);
            for _ in 0..self.fields.len() {
                match at {
                    Some(p) if p == &f.id => {
                        errors.push(CatalogueError::FieldCycle {
                            field: f.id.clone(),
                        });
                        break;
                    }
                    Some(p) => at = parents.get(p).copied().flatten(),
                    None => break,
                }
            }
        }
    }

    /// A field by id.
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id.as_str() == id)
    }

    /// The latest version of a procedure.
    pub fn procedure(&self, id: &str) -> Option<&Procedure> {
        self.versions(id).into_iter().next_back()
    }

    /// One exact version of a procedure, as a dossier records it.
    pub fn procedure_version(&self, id: &str, version: &str) -> Option<&Procedure> {
        self.procedures
            .iter()
            .find(|p| p.id == id && p.version == version)
    }

    /// Every version of a procedure, oldest first.
    pub fn versions(&self, id: &str) -> Vec<&Procedure> {
        let mut v: Vec<&Procedure> = self.procedures.iter().filter(|p| p.id == id).collect();
        v.sort_by(|a, b| compare_versions(&a.version, &b.version));
        v
    }

    /// The latest version of every procedure, in catalogue order.
    pub fn current(&self) -> Vec<&Procedure> {
        // One pass to find each code's latest version, so a province-sized
        // catalogue is not scanned once per procedure.
        let mut latest: HashMap<&str, &Procedure> = HashMap::new();
        for p in &self.procedures {
            let newer = latest
                .get(p.id.as_str())
                .is_none_or(|seen| compare_versions(&p.version, &seen.version).is_ge());
            if newer {
                latest.insert(&p.id, p);
            }
        }
        self.procedures
            .iter()
            .filter(|p| {
                latest
                    .get(p.id.as_str())
                    .is_some_and(|l| std::ptr::eq(*l, *p))
            })
            .collect()
    }

    /// Current procedures whose name or code matches `query` under the rule of
    /// [`crate::search`], in catalogue order. An empty query returns them all.
    pub fn search(&self, query: &str) -> Vec<&Procedure> {
        let query = SearchQuery::parse(query);
        self.current()
            .into_iter()
            .filter(|p| query.matches(&p.name) || query.matches(&p.id))
            .collect()
    }

    /// Current procedures of a field and of the fields under it (a tư pháp –
    /// hộ tịch counter also handles chứng thực), in catalogue order.
    pub fn procedures_of_field(&self, field: &str) -> Vec<&Procedure> {
        self.current()
            .into_iter()
            .filter(|p| self.field_is_within(&p.field, field))
            .collect()
    }

    /// Whether `field` is `ancestor` or sits somewhere under it.
    fn field_is_within(&self, field: &FieldId, ancestor: &str) -> bool {
        let mut at = Some(field);
        // Bounded so that an unvalidated loop cannot hang the caller.
        for _ in 0..=self.fields.len() {
            match at {
                Some(f) if f.as_str() == ancestor => return true,
                Some(f) => at = self.field(f.as_str()).and_then(|f| f.parent.as_ref()),
                None => return false,
            }
        }
        false
    }
}

fn validate_procedure<'a>(
    p: &'a Procedure,
    field_ids: &HashSet<&FieldId>,
    seen: &mut HashSet<(&'a str, Vec<u64>)>,
    errors: &mut Vec<CatalogueError>,
) {
    let (id, version) = (p.id.clone(), p.version.clone());
    if !is_code(&p.id, &['.', '-', '_']) {
        errors.push(CatalogueError::BadProcedureId { id: id.clone() });
    }
    match parse_version(&p.version) {
        Some(numbers) => {
            // "2025.1" and "2025.01" are the same version.
            if !seen.insert((&p.id, numbers)) {
                errors.push(CatalogueError::DuplicateProcedure {
                    id: id.clone(),
                    version: version.clone(),
                });
            }
        }
        None => errors.push(CatalogueError::BadVersion {
            id: id.clone(),
            version: version.clone(),
        }),
    }
    if !field_ids.contains(&p.field) {
        errors.push(CatalogueError::UnknownField {
            id: id.clone(),
            version: version.clone(),
            field: p.field.clone(),
        });
    }
    let mut texts: Vec<(String, &String)> = vec![
        ("name".into(), &p.name),
        ("legal_basis".into(), &p.legal_basis),
        ("result".into(), &p.result),
    ];
    for (i, d) in p.required_documents.iter().enumerate() {
        texts.push((format!("required_documents[{i}].name"), &d.name));
    }
    for (attribute, value) in texts {
        if value.is_empty() {
            errors.push(CatalogueError::EmptyText {
                id: id.clone(),
                version: version.clone(),
                attribute,
            });
        } else if normalize(value) != *value {
            errors.push(CatalogueError::TextNotNormalized {
                id: id.clone(),
                version: version.clone(),
                attribute,
                value: value.clone(),
            });
        }
    }
    // The note may be empty, but what it says is printed and searched too.
    if !p.fee.note.is_empty() && normalize(&p.fee.note) != p.fee.note {
        errors.push(CatalogueError::TextNotNormalized {
            id: id.clone(),
            version: version.clone(),
            attribute: "fee.note".into(),
            value: p.fee.note.clone(),
        });
    }
    if p.required_documents.is_empty() {
        errors.push(CatalogueError::NoDocuments {
            id: id.clone(),
            version: version.clone(),
        });
    }
    for d in &p.required_documents {
        if d.count == 0 {
            errors.push(CatalogueError::ZeroCountDocument {
                id: id.clone(),
                version: version.clone(),
                document: d.name.clone(),
            });
        }
    }
    // The deadline engine treats "0 working days" as same-day (with the 15:00
    // rule); "0 working hours" would mean due at the moment of receipt.
    if p.processing_time.amount == 0 && p.processing_time.unit == TimeUnit::WorkingHours {
        errors.push(CatalogueError::SameDayNotInWorkingDays { id, version });
    }
}

/// Non-empty and made of ASCII letters, digits and the given punctuation.
fn is_code(s: &str, punctuation: &[char]) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || punctuation.contains(&c))
}

/// `"2025.1"` → `[2025, 1]`; `None` unless every part is a number.
fn parse_version(v: &str) -> Option<Vec<u64>> {
    v.split('.')
        .map(|part| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                part.parse().ok()
            }
        })
        .collect()
}

/// Numeric order where both parse (`2025.10` after `2025.9`), text otherwise.
fn compare_versions(a: &str, b: &str) -> Ordering {
    match (parse_version(a), parse_version(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Catalogue {
        Catalogue::seed()
    }

    /// A one-field, one-procedure catalogue to break in tests.
    fn small() -> Catalogue {
        Catalogue {
            fields: vec![
                Field {
                    id: FieldId::new("tu_phap_ho_tich"),
                    name_vi: "Tư pháp – Hộ tịch".into(),
                    name_en: "Justice and civil status".into(),
                    parent: None,
                },
                Field {
                    id: FieldId::new("chung_thuc"),
                    name_vi: "Chứng thực".into(),
                    name_en: "Certification".into(),
                    parent: Some(FieldId::new("tu_phap_ho_tich")),
                },
            ],
            procedures: vec![Procedure {
                id: "1.001193".into(),
                version: "2025.1".into(),
                name: "Thủ tục đăng ký khai sinh".into(),
                field: FieldId::new("tu_phap_ho_tich"),
                level: ResolvingLevel::Commune,
                online_service: OnlineService::Full,
                processing_time: ProcessingTime::working_days(0),
                pause_rule: PauseRule::Restart,
                fee: Fee {
                    amount_vnd: 0,
                    note: String::new(),
                },
                required_documents: vec![RequiredDocument {
                    name: "Tờ khai đăng ký khai sinh".into(),
                    form: DocumentForm::Original,
                    count: 1,
                }],
                legal_basis: "Luật Hộ tịch 2014".into(),
                result: "Giấy khai sinh".into(),
            }],
        }
    }

    fn errors_of(c: &Catalogue) -> Vec<CatalogueError> {
        match c.validate() {
            Ok(()) => Vec::new(),
            Err(e) => e.0,
        }
    }

    #[test]
    fn seed_parses_and_validates() {
        let c = Catalogue::from_json(SEED_JSON).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            c.procedures.len() >= 18,
            "{} procedures",
            c.procedures.len()
        );
        for field in [
            "dia_chinh",
            "xay_dung",
            "chinh_sach_xa_hoi",
            "tu_phap_ho_tich",
            "chung_thuc",
            "thue",
            "van_phong",
        ] {
            assert!(c.field(field).is_some(), "field {field} missing");
        }
    }

    #[test]
    fn seed_round_trips_through_json() {
        let c = seed();
        let json = c.to_json().expect("serialises");
        assert_eq!(Catalogue::from_json(&json).expect("reloads"), c);
    }

    #[test]
    fn seed_holds_the_statutory_times() {
        let c = seed();
        let days = |id: &str| {
            let p = c.procedure(id).unwrap_or_else(|| panic!("{id} missing"));
            assert_eq!(p.processing_time.unit, TimeUnit::WorkingDays, "{id}");
            p.processing_time.amount
        };
        assert_eq!(days("1.001193"), 0, "khai sinh");
        assert_eq!(days("1.000656"), 0, "khai tử");
        assert_eq!(days("1.000894"), 0, "kết hôn");
        assert_eq!(days("1.004873"), 3, "xác nhận tình trạng hôn nhân");
        assert_eq!(days("1.001022"), 3, "nhận cha, mẹ, con");
        assert_eq!(days("1.004859"), 3, "thay đổi, cải chính");
        assert_eq!(days("1.004884"), 5, "đăng ký lại khai sinh");
        assert_eq!(days("2.000635"), 0, "bản sao trích lục");
        assert_eq!(days("2.000815"), 0, "chứng thực bản sao");
        assert_eq!(days("2.000884"), 0, "chứng thực chữ ký");
        assert_eq!(days("2.001035"), 2, "chứng thực hợp đồng");
        assert_eq!(days("1.013225"), 15, "giấy phép xây dựng");
        assert_eq!(days("1.013978"), 20, "đăng ký, cấp GCN lần đầu");
    }

    #[test]
    fn seed_pause_rules_follow_the_field() {
        let c = seed();
        for p in c.current() {
            let expected = match p.field.as_str() {
                "dia_chinh" | "xay_dung" => Some(PauseRule::Extend),
                "tu_phap_ho_tich" | "chung_thuc" => Some(PauseRule::Restart),
                _ => None,
            };
            if let Some(rule) = expected {
                assert_eq!(p.pause_rule, rule, "{} {}", p.id, p.name);
            }
        }
    }

    #[test]
    fn seed_fees() {
        let c = seed();
        let fee = |id: &str| c.procedure(id).map(|p| p.fee.amount_vnd);
        assert_eq!(fee("1.001193"), Some(0));
        assert_eq!(fee("1.000656"), Some(0));
        assert_eq!(fee("2.000815"), Some(2_000));
        assert_eq!(fee("2.000884"), Some(10_000));
        assert_eq!(fee("2.001035"), Some(50_000));
        let per_page = c.procedure("2.000815").map(|p| p.fee.note.as_str());
        assert!(
            per_page.is_some_and(|n| n.contains("trang")),
            "{per_page:?}"
        );
    }

    #[test]
    fn seed_fields_and_levels() {
        let c = seed();
        let certification = c.field("chung_thuc").expect("chứng thực");
        assert_eq!(
            certification.parent.as_ref().map(FieldId::as_str),
            Some("tu_phap_ho_tich")
        );
        assert!(
            c.current()
                .iter()
                .any(|p| p.level == ResolvingLevel::Province)
        );
        assert!(
            c.current()
                .iter()
                .any(|p| p.online_service == OnlineService::Full)
        );
    }

    #[test]
    fn lookup_by_id_and_version() {
        let mut c = small();
        let mut newer = c.procedures[0].clone();
        newer.version = "2025.10".into();
        newer.name = "Thủ tục đăng ký khai sinh (sửa đổi)".into();
        let mut middle = c.procedures[0].clone();
        middle.version = "2025.9".into();
        c.procedures.push(newer);
        c.procedures.push(middle);
        assert_eq!(errors_of(&c), []);

        let latest = c.procedure("1.001193").expect("present");
        assert_eq!(latest.version, "2025.10", "versions compare as numbers");
        let old = c.procedure_version("1.001193", "2025.1").expect("present");
        assert_eq!(old.name, "Thủ tục đăng ký khai sinh");
        assert!(c.procedure_version("1.001193", "2024.1").is_none());
        assert!(c.procedure("9.999999").is_none());
        let versions: Vec<&str> = c
            .versions("1.001193")
            .iter()
            .map(|p| p.version.as_str())
            .collect();
        assert_eq!(versions, ["2025.1", "2025.9", "2025.10"]);
        assert_eq!(c.current().len(), 1);
        assert_eq!(c.search("khai sinh").len(), 1, "only the current version");
    }

    #[test]
    fn search_names_and_codes() {
        let c = seed();
        let ids = |q: &str| -> Vec<String> { c.search(q).iter().map(|p| p.id.clone()).collect() };
        assert!(ids("khai sinh").contains(&"1.001193".to_string()));
        assert!(ids("dang ky lai khai sinh").contains(&"1.004884".to_string()));
        assert!(!ids("khai sinh").contains(&"1.000656".to_string()));
        assert_eq!(ids("khai tử"), ["1.000656"]);
        assert!(ids("chung thuc ban sao").contains(&"2.000815".to_string()));
        assert!(ids("giay phep xay dung").contains(&"1.013225".to_string()));
        assert_eq!(ids("1.001193"), ["1.001193"]);
        assert_eq!(ids("001193"), ["1.001193"]);
        assert!(ids("kết hôn").contains(&"1.000894".to_string()));
        // Marked query words are exact: "hôn" is not "hồn" or "hơn".
        assert!(ids("kết hơn").is_empty());
        assert!(ids("zzzz").is_empty());
        assert_eq!(c.search("").len(), c.current().len());
    }

    #[test]
    fn field_listing_includes_subfields() {
        let c = seed();
        let certification = c.procedures_of_field("chung_thuc");
        assert!(certification.len() >= 3);
        assert!(
            certification
                .iter()
                .all(|p| p.field.as_str() == "chung_thuc")
        );
        let justice = c.procedures_of_field("tu_phap_ho_tich");
        assert!(justice.iter().any(|p| p.id == "1.001193"));
        assert!(
            justice.iter().any(|p| p.id == "2.000815"),
            "chứng thực sits under tư pháp"
        );
        assert!(c.procedures_of_field("nope").is_empty());
        assert!(!c.procedures_of_field("dia_chinh").is_empty());
        assert!(!c.procedures_of_field("xay_dung").is_empty());
        assert!(!c.procedures_of_field("chinh_sach_xa_hoi").is_empty());
    }

    #[test]
    fn duplicate_procedure_version_is_reported() {
        let mut c = small();
        let mut again = c.procedures[0].clone();
        again.version = "2025.01".into();
        c.procedures.push(again);
        assert_eq!(
            errors_of(&c),
            [CatalogueError::DuplicateProcedure {
                id: "1.001193".into(),
                version: "2025.01".into()
            }]
        );
    }

    #[test]
    fn each_broken_attribute_is_named() {
        let mut c = small();
        let p = &mut c.procedures[0];
        p.field = FieldId::new("khong_co");
        p.name = String::new();
        p.result = " Giấy  khai sinh".into();
        p.required_documents[0].count = 0;
        p.processing_time = ProcessingTime::working_hours(0);
        p.version = "v2".into();
        let errors = errors_of(&c);
        let expected = [
            CatalogueError::BadVersion {
                id: "1.001193".into(),
                version: "v2".into(),
            },
            CatalogueError::UnknownField {
                id: "1.001193".into(),
                version: "v2".into(),
                field: FieldId::new("khong_co"),
            },
            CatalogueError::EmptyText {
                id: "1.001193".into(),
                version: "v2".into(),
                attribute: "name".into(),
            },
            CatalogueError::TextNotNormalized {
                id: "1.001193".into(),
                version: "v2".into(),
                attribute: "result".into(),
                value: " Giấy  khai sinh".into(),
            },
            CatalogueError::ZeroCountDocument {
                id: "1.001193".into(),
                version: "v2".into(),
                document: "Tờ khai đăng ký khai sinh".into(),
            },
            CatalogueError::SameDayNotInWorkingDays {
                id: "1.001193".into(),
                version: "v2".into(),
            },
        ];
        assert_eq!(errors, expected);
        let message = c.validate().expect_err("invalid").to_string();
        assert!(
            message.starts_with("the catalogue has 6 problem(s):"),
            "{message}"
        );
        assert!(
            message.contains("procedure 1.001193 version v2: name is empty"),
            "{message}"
        );
        assert!(
            message.contains("field khong_co is not a field"),
            "{message}"
        );
    }

    #[test]
    fn text_must_be_nfc() {
        let mut c = small();
        c.procedures[0].name = "Thủ tục đăng ky\u{301} khai sinh".into();
        assert!(matches!(
            errors_of(&c).as_slice(),
            [CatalogueError::TextNotNormalized { attribute, .. }] if attribute == "name"
        ));
        c.procedures[0].name = normalize(&c.procedures[0].name);
        assert_eq!(errors_of(&c), []);
    }

    #[test]
    fn document_names_and_ids_are_checked() {
        let mut c = small();
        c.procedures[0].required_documents[0].name = String::new();
        c.procedures[0].id = "1 001193".into();
        assert_eq!(
            errors_of(&c),
            [
                CatalogueError::BadProcedureId {
                    id: "1 001193".into()
                },
                CatalogueError::EmptyText {
                    id: "1 001193".into(),
                    version: "2025.1".into(),
                    attribute: "required_documents[0].name".into(),
                },
            ]
        );
        c.procedures[0].required_documents.clear();
        c.procedures[0].id = "1.001193".into();
        assert_eq!(
            errors_of(&c),
            [CatalogueError::NoDocuments {
                id: "1.001193".into(),
                version: "2025.1".into()
            }]
        );
    }

    #[test]
    fn field_problems_are_reported() {
        let mut c = small();
        c.fields[1].parent = Some(FieldId::new("thieu"));
        c.fields.push(c.fields[0].clone());
        c.fields.push(Field {
            id: FieldId::new("vòng"),
            name_vi: String::new(),
            name_en: "Loop".into(),
            parent: Some(FieldId::new("vòng")),
        });
        let errors = errors_of(&c);
        assert!(errors.contains(&CatalogueError::UnknownParentField {
            field: FieldId::new("chung_thuc"),
            parent: FieldId::new("thieu"),
        }));
        assert!(errors.contains(&CatalogueError::DuplicateField {
            field: FieldId::new("tu_phap_ho_tich"),
        }));
        assert!(errors.contains(&CatalogueError::BadFieldId {
            field: FieldId::new("vòng"),
        }));
        assert!(errors.contains(&CatalogueError::EmptyFieldText {
            field: FieldId::new("vòng"),
            attribute: "name_vi",
        }));
        assert!(errors.contains(&CatalogueError::FieldCycle {
            field: FieldId::new("vòng"),
        }));
        // A loop does not hang the field listing either.
        assert!(c.procedures_of_field("chung_thuc").is_empty());
    }

    #[test]
    fn bad_json_is_a_parse_error_naming_the_problem() {
        let err = Catalogue::from_json("{\"fields\": [], \"procedures\": [{\"id\": 1}]}")
            .expect_err("wrong shape");
        assert!(matches!(err, LoadError::Parse(_)), "{err}");
        let unknown = SEED_JSON.replacen("\"legal_basis\"", "\"legal_basiss\"", 1);
        let err = Catalogue::from_json(&unknown).expect_err("misspelt key");
        assert!(err.to_string().contains("legal_basiss"), "{err}");
        let invalid = SEED_JSON.replacen("\"count\": 1", "\"count\": 0", 1);
        let err = Catalogue::from_json(&invalid).expect_err("zero count");
        assert!(matches!(err, LoadError::Invalid(_)), "{err}");
        assert!(err.to_string().contains("has count 0"), "{err}");
    }
}
