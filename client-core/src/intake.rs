//! Receiving a dossier at the counter (tiếp nhận), offline.
//!
//! One function joins what the other modules know: the procedure from the
//! catalogue, the next dossier code from this device's slots, the
//! appointment from the working calendar, and the first stage of the log.
//! The native CLI and the web app both call it, so a dossier is received the
//! same way everywhere.

use automerge::ActorId;
use serde::{Deserialize, Serialize};

use crate::calendar::WorkingCalendar;
use crate::catalogue::{self, Catalogue};
use crate::codes::{CodeError, CodeIssuer};
use crate::deadline::{self, DeadlineError};
use crate::dossier::{
    Applicant, Channel, DeliveryMethod, DocumentError, DocumentForm, Dossier, DossierDoc, Fee,
    HandedDocument, NewStage, ProcedureRef, ResultDelivery,
};
use crate::ids::{DocId, DossierCode};
use crate::stage::Stage;
use crate::time;

/// What the clerk enters for a new dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reception {
    pub procedure_id: String,
    pub applicant: Applicant,
    /// The documents handed in; by default the procedure's required ones.
    #[serde(default)]
    pub documents: Option<Vec<HandedDocument>>,
    #[serde(default = "one")]
    pub sets: u32,
    pub channel: Channel,
    #[serde(default)]
    pub fee_paid: bool,
    /// Where the result is collected; by default at this counter.
    #[serde(default)]
    pub result_delivery: Option<ResultDelivery>,
    /// Milliseconds since the Unix epoch.
    pub received_at: i64,
    pub user: String,
    pub device: String,
    #[serde(default)]
    pub note: String,
}

fn one() -> u32 {
    1
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("thủ tục {0} không có trong danh mục / procedure {0} is not in the catalogue")]
    UnknownProcedure(String),
    #[error(transparent)]
    Code(#[from] CodeError),
    #[error(transparent)]
    Deadline(#[from] DeadlineError),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("received_at is out of range")]
    BadTime,
}

/// A dossier just received: its new document and its validated snapshot.
#[derive(Debug, Clone)]
pub struct Received {
    pub doc_id: DocId,
    pub doc: DossierDoc,
    pub dossier: Dossier,
}

/// Records a new dossier. `existing` are the codes already on this replica
/// (only this device's own matter, see [`crate::codes`]).
pub fn receive<'a>(
    catalogue: &Catalogue,
    calendar: &WorkingCalendar,
    issuer: &CodeIssuer,
    existing: impl IntoIterator<Item = &'a DossierCode>,
    actor: ActorId,
    reception: Reception,
) -> Result<Received, IntakeError> {
    let procedure = catalogue
        .procedure(&reception.procedure_id)
        .ok_or_else(|| IntakeError::UnknownProcedure(reception.procedure_id.clone()))?;
    let received = time::from_millis(reception.received_at).ok_or(IntakeError::BadTime)?;
    let code = issuer.issue(time::vn_date(&received), existing)?;
    let due = deadline::due_at(calendar, received, procedure.processing_time)?;
    let documents = reception.documents.unwrap_or_else(|| checklist(procedure));
    let dossier = Dossier {
        code,
        unit: issuer.unit().clone(),
        field: procedure.field.as_str().to_string(),
        procedure: ProcedureRef::of(procedure),
        processing: procedure.processing_time,
        pause_rule: procedure.pause_rule,
        channel: reception.channel,
        applicant: reception.applicant,
        documents,
        sets: reception.sets,
        received_at: reception.received_at,
        due_at: due.timestamp_millis(),
        fee: Fee {
            amount_vnd: procedure.fee.amount_vnd,
            paid: reception.fee_paid || procedure.fee.amount_vnd == 0,
        },
        result_delivery: reception.result_delivery.unwrap_or(ResultDelivery {
            method: DeliveryMethod::Counter,
            place: "Bộ phận Tiếp nhận và Trả kết quả".to_string(),
        }),
        stages: Vec::new(),
    };
    let first = NewStage {
        stage: Stage::Received,
        at: reception.received_at,
        user: reception.user,
        device: reception.device,
        unit: issuer.unit().clone(),
        note: reception.note,
    };
    let doc = DossierDoc::create(actor, &dossier, first)?;
    let dossier = doc.read().map_err(DocumentError::from)?;
    Ok(Received {
        doc_id: DocId::random(),
        doc,
        dossier,
    })
}

/// The table of documents a receiving form starts with: the procedure's
/// required documents, each as it is usually handed in.
pub fn checklist(procedure: &catalogue::Procedure) -> Vec<HandedDocument> {
    procedure
        .required_documents
        .iter()
        .map(|d| HandedDocument {
            name: d.name.clone(),
            form: handed_form(d.form),
            count: d.count.max(1),
        })
        .collect()
}

/// How a required document is recorded when handed in: when either is
/// accepted, the clerk is assumed to receive a copy unless told otherwise.
fn handed_form(required: catalogue::DocumentForm) -> DocumentForm {
    match required {
        catalogue::DocumentForm::Original => DocumentForm::Original,
        catalogue::DocumentForm::Copy | catalogue::DocumentForm::OriginalOrCopy => {
            DocumentForm::Copy
        }
        catalogue::DocumentForm::CertifiedCopy => DocumentForm::CertifiedCopy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::CodeSlot;
    use crate::ids::{IdNumber, UnitCode};

    #[test]
    fn every_seeded_procedure_can_be_received_and_validates() {
        let catalogue = Catalogue::seed();
        let calendar = WorkingCalendar::seeded(2026..=2027).unwrap();
        let issuer = CodeIssuer::new(
            UnitCode::parse("X0101").unwrap(),
            vec![CodeSlot::new(0).unwrap()],
        )
        .unwrap();
        let at = time::parse_rfc3339("2026-11-27T09:30:00+07:00")
            .unwrap()
            .timestamp_millis();
        let mut codes = Vec::new();
        for procedure in catalogue.current() {
            let reception = Reception {
                procedure_id: procedure.id.clone(),
                applicant: Applicant {
                    full_name: "Nguyễn Văn An".into(),
                    id_number: IdNumber::parse("001203001234").unwrap(),
                    phone: None,
                    address: String::new(),
                },
                documents: None,
                sets: 1,
                channel: Channel::Direct,
                fee_paid: false,
                result_delivery: None,
                received_at: at,
                user: "canbo".into(),
                device: "d".into(),
                note: String::new(),
            };
            let received = receive(
                &catalogue,
                &calendar,
                &issuer,
                codes.iter(),
                ActorId::random(),
                reception,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", procedure.id));
            assert_eq!(
                received.dossier.documents.len(),
                procedure.required_documents.len()
            );
            assert!(received.dossier.due_at >= at);
            assert_eq!(received.dossier.fee.paid, procedure.fee.amount_vnd == 0);
            codes.push(received.dossier.code);
        }
        assert_eq!(codes[0].to_string(), "X0101-261127-0001");
    }

    #[test]
    fn an_unknown_procedure_is_refused_by_name() {
        let err = receive(
            &Catalogue::seed(),
            &WorkingCalendar::default(),
            &CodeIssuer::new(
                UnitCode::parse("X0101").unwrap(),
                vec![CodeSlot::new(0).unwrap()],
            )
            .unwrap(),
            [],
            ActorId::random(),
            Reception {
                procedure_id: "9.999999".into(),
                applicant: Applicant {
                    full_name: "A".into(),
                    id_number: IdNumber::parse("001203001234").unwrap(),
                    phone: None,
                    address: String::new(),
                },
                documents: None,
                sets: 1,
                channel: Channel::Direct,
                fee_paid: false,
                result_delivery: None,
                received_at: 1_795_831_200_000,
                user: "u".into(),
                device: "d".into(),
                note: String::new(),
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("9.999999"));
    }
}
