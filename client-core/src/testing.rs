//! Test fixtures for this crate's tests and other crates' (feature
//! `testing`): a valid dossier, built with only the facts a test cares
//! about changed.

use automerge::ActorId;

use crate::deadline::{PauseRule, ProcessingTime};
use crate::dossier::{
    Applicant, Channel, DeliveryMethod, DocumentForm, Dossier, DossierDoc, Fee, HandedDocument,
    NewStage, ProcedureRef, ResultDelivery,
};
use crate::ids::{DossierCode, IdNumber, PhoneNumber, UnitCode};
use crate::stage::Stage;
use crate::time;

/// 2026-11-28T08:00:00+07:00, a Saturday morning: when fixture dossiers
/// are received unless told otherwise.
pub const RECEIVED_AT: i64 = 1_795_831_200_000;

/// A dossier as a test wants it. By default: a birth registration (Đăng ký
/// khai sinh, 1.001193, same day) handed in directly by Nguyễn Văn An at
/// [`RECEIVED_AT`], one form as the table of documents, no fee, collected
/// at the counter, due nine hours after receipt, received by `canbo` on
/// `tablet`.
#[derive(Debug, Clone)]
pub struct DossierFixture {
    dossier: Dossier,
    number: u16,
    user: String,
    device: String,
}

impl DossierFixture {
    /// Dossier `number` of the day of unit `unit`.
    pub fn new(unit: &str, number: u16) -> Self {
        let unit = UnitCode::parse(unit).expect("fixture unit codes are valid");
        let dossier = Dossier {
            code: code(&unit, RECEIVED_AT, number),
            unit,
            field: "tu-phap-ho-tich".into(),
            procedure: ProcedureRef {
                id: "1.001193".into(),
                version: "1".into(),
                name: "Đăng ký khai sinh".into(),
            },
            processing: ProcessingTime::working_days(0),
            pause_rule: PauseRule::Restart,
            channel: Channel::Direct,
            applicant: Applicant {
                full_name: "Nguyễn Văn An".into(),
                id_number: IdNumber::parse("001203001234").expect("a valid id number"),
                phone: None,
                address: "Xã Tân Phong".into(),
            },
            documents: vec![HandedDocument {
                name: "Tờ khai".into(),
                form: DocumentForm::Original,
                count: 1,
            }],
            sets: 1,
            received_at: RECEIVED_AT,
            due_at: RECEIVED_AT + 9 * 3_600_000,
            fee: Fee {
                amount_vnd: 0,
                paid: false,
            },
            result_delivery: ResultDelivery {
                method: DeliveryMethod::Counter,
                place: "Một cửa".into(),
            },
            stages: Vec::new(),
        };
        Self {
            dossier,
            number,
            user: "canbo".into(),
            device: "tablet".into(),
        }
    }

    /// Received at `at` (milliseconds); the code carries that day.
    pub fn received_at(mut self, at: i64) -> Self {
        self.dossier.received_at = at;
        self.dossier.code = code(&self.dossier.unit, at, self.number);
        self
    }

    pub fn due_at(mut self, at: i64) -> Self {
        self.dossier.due_at = at;
        self
    }

    pub fn field(mut self, field: &str) -> Self {
        self.dossier.field = field.into();
        self
    }

    pub fn procedure(mut self, id: &str, version: &str, name: &str) -> Self {
        self.dossier.procedure = ProcedureRef {
            id: id.into(),
            version: version.into(),
            name: name.into(),
        };
        self
    }

    pub fn processing(mut self, processing: ProcessingTime, pause_rule: PauseRule) -> Self {
        self.dossier.processing = processing;
        self.dossier.pause_rule = pause_rule;
        self
    }

    pub fn applicant(mut self, full_name: &str, phone: Option<&str>, address: &str) -> Self {
        self.dossier.applicant.full_name = full_name.into();
        self.dossier.applicant.phone =
            phone.map(|p| PhoneNumber::parse(p).expect("fixture phone numbers are valid"));
        self.dossier.applicant.address = address.into();
        self
    }

    pub fn fee(mut self, amount_vnd: u64, paid: bool) -> Self {
        self.dossier.fee = Fee { amount_vnd, paid };
        self
    }

    pub fn collected_at(mut self, place: &str) -> Self {
        self.dossier.result_delivery.place = place.into();
        self
    }

    /// Who records the first stage.
    pub fn received_by(mut self, user: &str, device: &str) -> Self {
        self.user = user.into();
        self.device = device.into();
        self
    }

    /// The dossier, its stage log still empty.
    pub fn dossier(&self) -> Dossier {
        self.dossier.clone()
    }

    /// The stage log's first entry: received, at the receipt.
    pub fn first_stage(&self) -> NewStage {
        NewStage {
            stage: Stage::Received,
            at: self.dossier.received_at,
            user: self.user.clone(),
            device: self.device.clone(),
            unit: self.dossier.unit.clone(),
            note: String::new(),
        }
    }

    /// The dossier as a new document made by `actor`.
    pub fn doc(&self, actor: &ActorId) -> DossierDoc {
        DossierDoc::create(actor.clone(), &self.dossier, self.first_stage())
            .expect("the fixture dossier is valid")
    }
}

fn code(unit: &UnitCode, at: i64, number: u16) -> DossierCode {
    let date = time::vn_date(&time::from_millis(at).expect("fixture times are in range"));
    DossierCode::new(unit.clone(), date, number).expect("a valid dossier code")
}
