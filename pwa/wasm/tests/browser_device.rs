//! The browser's device, natively: receiving and recording offline,
//! surviving a reload from what IndexedDB would hold, syncing with a hub
//! (client-core's in-memory one) through the same engine, conflicts and
//! refusals as the clerk sees them.

use automerge::ActorId;
use client_core::ids::UnitCode;
use client_core::stage::Stage;
use client_core::sync::hub::HubSession;
use client_core::sync::testing::MemoryHub;
use motcua_wasm::device::ReceiveForm;
use motcua_wasm::persist::{SavedBatch, SavedState};
use motcua_wasm::{BrowserDevice, Identity};

/// 2026-11-27T09:30:00+07:00, a Friday morning.
const NOW: i64 = 1_795_746_600_000;
const HOUR: i64 = 3_600_000;

fn identity(token: &str, slots: Vec<u8>) -> Identity {
    Identity {
        token: token.into(),
        device_id: format!("dev-{token}"),
        device_name: "Máy tính bảng quầy 1".into(),
        unit: UnitCode::parse("X0101").unwrap(),
        code_slots: slots,
        user: "canbo.tanphong".into(),
        user_full_name: "Nguyễn Thị Hoa".into(),
    }
}

/// A birth registration (due the next working day) as a clerk fills it in.
fn birth_registration(name: &str, id_number: &str, phone: &str) -> ReceiveForm {
    ReceiveForm {
        procedure_id: "1.001193".into(),
        full_name: name.into(),
        id_number: id_number.into(),
        phone: phone.into(),
        address: "Thôn 3, xã Tân Phong".into(),
        documents: vec![],
        sets: 1,
        channel: "direct".into(),
        fee_paid: false,
        result_method: None,
        result_place: None,
        note: String::new(),
    }
}

/// What IndexedDB holds: every batch written in order, replayed.
#[derive(Default, Clone)]
struct IndexedDb {
    docs: std::collections::BTreeMap<String, Vec<u8>>,
    metas: std::collections::BTreeMap<String, String>,
    checkpoint: Option<String>,
}

impl IndexedDb {
    fn write(&mut self, batches: Vec<SavedBatch>) {
        for b in batches {
            for d in b.docs {
                let stored = self.docs.entry(d.id).or_default();
                if d.snapshot {
                    stored.clear();
                }
                stored.extend_from_slice(&d.bytes);
            }
            for (id, json) in b.metas {
                self.metas.insert(id, json);
            }
            if b.checkpoint.is_some() {
                self.checkpoint = b.checkpoint;
            }
        }
    }

    fn saved(&self) -> SavedState {
        SavedState {
            checkpoint: self.checkpoint.clone(),
            metas: self.metas.values().cloned().collect(),
            docs: self
                .docs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

struct Tablet {
    device: BrowserDevice,
    db: IndexedDb,
    actor: ActorId,
    identity: Identity,
}

impl Tablet {
    fn new(token: &str, actor_byte: u8, hub: &mut MemoryHub) -> Tablet {
        let actor = ActorId::from(vec![actor_byte; 16]);
        hub.enrol(token, UnitCode::parse("X0101").unwrap(), &actor);
        let identity = identity(token, vec![actor_byte]);
        let (device, report) =
            BrowserDevice::open(identity.clone(), actor.clone(), SavedState::default()).unwrap();
        assert!(report.rebuilt.is_empty());
        Tablet {
            device,
            db: IndexedDb::default(),
            actor,
            identity,
        }
    }

    fn persist(&mut self) {
        let writes = self.device.take_writes();
        self.db.write(writes);
    }

    /// Closes the page and opens it again from IndexedDB.
    fn reload(&mut self) {
        self.persist();
        let (device, _) =
            BrowserDevice::open(self.identity.clone(), self.actor.clone(), self.db.saved())
                .unwrap();
        self.device = device;
    }

    fn receive(&mut self, name: &str, id_number: &str, phone: &str, at: i64) -> String {
        let view = self
            .device
            .receive(birth_registration(name, id_number, phone), at)
            .unwrap();
        self.persist();
        view.row.doc_id
    }

    /// Connects to the hub and carries frames both ways until quiet, as
    /// the page's WebSocket driver does.
    fn sync(&mut self, hub: &mut MemoryHub) {
        let mut session = HubSession::new();
        self.device.sync_start(0).unwrap();
        loop {
            let mut progressed = false;
            while let Some(frame) = self.device.poll_transmit() {
                session.handle_frame(&frame, hub).unwrap();
                progressed = true;
            }
            while session.poll_catchup(hub).unwrap() {}
            while session.poll_event().is_some() {}
            while let Some(frame) = session.poll_transmit() {
                self.device.sync_frame(&frame, 0).unwrap();
                progressed = true;
            }
            self.persist();
            if !progressed {
                break;
            }
        }
        self.device.sync_disconnected();
    }
}

#[test]
fn a_dossier_received_offline_gets_its_code_and_appointment_and_survives_a_reload() {
    let mut hub = MemoryHub::new();
    let mut tablet = Tablet::new("t1", 3, &mut hub);
    let first = tablet.receive("Nguyễn Văn An", "001203001234", "0912 345 678", NOW);
    let second = tablet.receive("Đỗ Thị Bình", "001203009999", "", NOW + 60_000);
    let view = tablet.device.dossier(&first, NOW).unwrap();
    // Slot 3 issues numbers 301–399 of the day.
    assert_eq!(view.row.code, "X0101-261127-0301");
    assert!(view.row.due_at > NOW);
    assert_eq!(view.register_number, 301);
    assert_eq!(view.row.stage.as_ref().unwrap().id, "received");
    assert!(view.row.pending);
    assert!(
        !view.dossier.documents.is_empty(),
        "checklist from the catalogue"
    );

    tablet
        .device
        .record_stage(&second, Stage::HandedOver, "", NOW + 2 * HOUR)
        .unwrap();
    tablet.reload();

    let rows = tablet.device.search("", NOW + 3 * HOUR).unwrap();
    assert_eq!(rows.len(), 2);
    let second_row = rows.iter().find(|r| r.doc_id == second).unwrap();
    assert_eq!(second_row.stage.as_ref().unwrap().id, "handed_over");
    assert_eq!(tablet.device.status().pending, 2);
}

#[test]
fn search_finds_a_dossier_by_name_without_diacritics_by_id_number_phone_and_code() {
    let mut hub = MemoryHub::new();
    let mut tablet = Tablet::new("t1", 1, &mut hub);
    let an = tablet.receive("Nguyễn Văn An", "001203001234", "0912 345 678", NOW);
    tablet.receive("Đỗ Thị Bình", "001203009999", "", NOW + 1000);
    let found = |t: &mut Tablet, q: &str| -> Vec<String> {
        t.device
            .search(q, NOW)
            .unwrap()
            .into_iter()
            .map(|r| r.applicant)
            .collect()
    };
    assert_eq!(found(&mut tablet, "nguyen an"), vec!["Nguyễn Văn An"]);
    assert_eq!(found(&mut tablet, "do thi"), vec!["Đỗ Thị Bình"]);
    assert_eq!(found(&mut tablet, "001203009999"), vec!["Đỗ Thị Bình"]);
    assert_eq!(found(&mut tablet, "0912345678"), vec!["Nguyễn Văn An"]);
    let code = tablet.device.dossier(&an, NOW).unwrap().row.code;
    assert_eq!(found(&mut tablet, &code), vec!["Nguyễn Văn An"]);
    // A clerk who typed the tones gets exactly that name.
    assert!(found(&mut tablet, "Nguyên").is_empty());
}

#[test]
fn receiving_names_the_field_that_is_wrong() {
    let mut hub = MemoryHub::new();
    let mut tablet = Tablet::new("t1", 1, &mut hub);
    let mut form = birth_registration("Nguyễn Văn An", "12ab", "");
    let e = tablet.device.receive(form.clone(), NOW).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("id_number"));
    form.id_number = "001203001234".into();
    form.phone = "12".into();
    assert_eq!(
        tablet
            .device
            .receive(form.clone(), NOW)
            .unwrap_err()
            .field
            .as_deref(),
        Some("phone")
    );
    form.phone = String::new();
    form.procedure_id = "9.999999".into();
    assert_eq!(
        tablet
            .device
            .receive(form, NOW)
            .unwrap_err()
            .field
            .as_deref(),
        Some("procedure_id")
    );
    assert!(tablet.device.search("", NOW).unwrap().is_empty());
}

#[test]
fn a_device_without_code_slots_cannot_receive_but_says_why() {
    let actor = ActorId::from(vec![9; 16]);
    let (mut leader, _) =
        BrowserDevice::open(identity("l1", vec![]), actor, SavedState::default()).unwrap();
    let form: ReceiveForm = serde_json::from_value(serde_json::json!({
        "procedure_id": "1.001193", "full_name": "A", "id_number": "001203001234"
    }))
    .unwrap();
    let e = leader.receive(form, NOW).unwrap_err();
    assert!(e.message.contains("không được cấp dải số"), "{}", e.message);
}

#[test]
fn dossiers_received_offline_reach_the_hub_and_another_tablet() {
    let mut hub = MemoryHub::new();
    let mut a = Tablet::new("a", 1, &mut hub);
    let mut b = Tablet::new("b", 2, &mut hub);
    let id = a.receive("Nguyễn Văn An", "001203001234", "", NOW);
    a.sync(&mut hub);
    assert_eq!(a.device.status().pending, 0);
    assert_eq!(hub.docs.len(), 1);
    b.sync(&mut hub);
    let rows = b.device.search("nguyen", NOW).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].doc_id, id);
    assert!(!rows[0].pending);
    // The checkpoint was persisted with the changes: a reload resumes.
    b.reload();
    assert_eq!(b.device.search("", NOW).unwrap().len(), 1);
}

#[test]
fn concurrent_edits_show_in_the_inbox_with_who_and_when_and_a_pick_resolves_them() {
    let mut hub = MemoryHub::new();
    let mut a = Tablet::new("a", 1, &mut hub);
    let mut b = Tablet::new("b", 2, &mut hub);
    let id = a.receive("Nguyễn Văn An", "001203001234", "", NOW);
    a.sync(&mut hub);
    b.sync(&mut hub);
    a.device
        .edit_field(&id, "applicant.phone", "0912000111", NOW + HOUR)
        .unwrap();
    b.device
        .edit_field(&id, "applicant.phone", "0988000222", NOW + 2 * HOUR)
        .unwrap();
    a.sync(&mut hub);
    b.sync(&mut hub);
    a.sync(&mut hub);
    let inbox = a.device.inbox().unwrap();
    assert_eq!(inbox.conflicts.len(), 1);
    let c = &inbox.conflicts[0];
    assert_eq!(c.conflict.path, "applicant.phone");
    assert_eq!(c.conflict.values.len(), 2);
    assert!(c.who.iter().any(|w| w.contains("(máy này / this device)")));
    assert!(c.who.iter().all(|w| w.contains("by canbo.tanphong")));
    assert!(
        c.conflict
            .values
            .iter()
            .any(|v| v.at == Some(NOW + 2 * HOUR))
    );

    a.device
        .edit_field(&id, "applicant.phone", "0988000222", NOW + 3 * HOUR)
        .unwrap();
    assert!(a.device.inbox().unwrap().conflicts.is_empty());
    a.sync(&mut hub);
    b.sync(&mut hub);
    assert!(b.device.inbox().unwrap().conflicts.is_empty());
    let phone = b.device.dossier(&id, NOW).unwrap().row.phone;
    assert_eq!(phone.as_deref(), Some("0988000222"));
}

#[test]
fn changes_the_hub_refuses_are_listed_with_the_reason_and_can_be_discarded() {
    let mut hub = MemoryHub::new();
    let mut a = Tablet::new("a", 1, &mut hub);
    a.receive("Nguyễn Văn An", "001203001234", "", NOW);
    // The hub no longer knows this device's actor: its changes are foreign.
    hub.devices.get_mut("a").unwrap().actors.clear();
    a.sync(&mut hub);
    let inbox = a.device.inbox().unwrap();
    assert_eq!(inbox.refused.len(), 1, "{inbox:?}");
    let refusal = &inbox.refused[0];
    assert!(!refusal.message.is_empty());
    assert_eq!(refusal.applicant.as_deref(), Some("Nguyễn Văn An"));
    // Refused changes are kept, not pushed again and not lost on reload.
    assert_eq!(a.device.status().pending, 0);
    a.reload();
    assert_eq!(a.device.inbox().unwrap().refused.len(), 1);
    a.device.discard_refused(&refusal.doc_id).unwrap();
    assert!(a.device.inbox().unwrap().refused.is_empty());
}

#[test]
fn supplement_request_and_arrival_and_returning_the_result() {
    let mut hub = MemoryHub::new();
    let mut a = Tablet::new("a", 1, &mut hub);
    let id = a.receive("Nguyễn Văn An", "001203001234", "", NOW);
    assert!(
        a.device
            .request_supplement(&id, &[], "", NOW + HOUR)
            .is_err()
    );
    let view = a
        .device
        .request_supplement(
            &id,
            &["Giấy chứng sinh (bản chính)".into()],
            "Mang theo CCCD",
            NOW + HOUR,
        )
        .unwrap();
    assert_eq!(view.row.stage.as_ref().unwrap().id, "supplement_requested");
    let form02 = view.supplement.expect("an open supplement request");
    assert_eq!(form02.missing, ["Giấy chứng sinh (bản chính)"]);
    assert_eq!(form02.note, "Mang theo CCCD");
    assert!(view.row.clock_stopped);

    let view = a
        .device
        .supplement_arrived(&id, "", NOW + 2 * HOUR)
        .unwrap();
    assert!(view.supplement.is_none());
    let view = a.device.return_result(&id, "", NOW + 3 * HOUR).unwrap();
    let stages: Vec<&str> = view.timeline.iter().map(|e| e.stage.id.as_str()).collect();
    assert_eq!(
        stages,
        vec![
            "received",
            "supplement_requested",
            "supplement_received",
            "done",
            "result_returned"
        ]
    );
    assert!(view.row.closed);
    assert!(view.next_stages.is_empty());
}

#[test]
fn overdue_and_due_soon_lists() {
    let mut hub = MemoryHub::new();
    let mut a = Tablet::new("a", 1, &mut hub);
    // Birth registration is due the day it is received.
    let id = a.receive("Nguyễn Văn An", "001203001234", "", NOW);
    let d = a.device.deadlines(NOW).unwrap();
    assert_eq!(d.due_soon.len(), 1);
    assert!(d.overdue.is_empty());
    let week_later = NOW + 7 * 24 * HOUR;
    let d = a.device.deadlines(week_later).unwrap();
    assert_eq!(d.overdue.len(), 1);
    assert_eq!(d.overdue[0].doc_id, id);
    a.device.return_result(&id, "", NOW + HOUR).unwrap();
    let d = a.device.deadlines(week_later).unwrap();
    assert!(d.overdue.is_empty() && d.due_soon.is_empty());
}

#[test]
fn a_damaged_metadata_record_is_rebuilt_and_the_document_pushed_again() {
    let mut hub = MemoryHub::new();
    let mut a = Tablet::new("a", 1, &mut hub);
    let id = a.receive("Nguyễn Văn An", "001203001234", "", NOW);
    a.sync(&mut hub);
    a.persist();
    a.db.metas.insert(id.clone(), "{not json".into());
    let (mut device, report) =
        BrowserDevice::open(a.identity.clone(), a.actor.clone(), a.db.saved()).unwrap();
    assert_eq!(report.rebuilt, vec![id.clone()]);
    assert_eq!(device.search("nguyen", NOW).unwrap().len(), 1);
    assert_eq!(device.status().pending, 1);
    a.device = device;
    a.sync(&mut hub);
    assert_eq!(a.device.status().pending, 0);
    assert_eq!(hub.docs.len(), 1);
}

#[test]
fn the_procedure_picker_searches_the_catalogue_without_diacritics() {
    let mut hub = MemoryHub::new();
    let mut a = Tablet::new("a", 1, &mut hub);
    let found = a.device.procedures("khai sinh");
    assert!(
        found.iter().any(|p| p.procedure.id == "1.001193"),
        "{found:?}"
    );
    let birth = found.iter().find(|p| p.procedure.id == "1.001193").unwrap();
    assert_eq!(
        birth.checklist.len(),
        birth.procedure.required_documents.len()
    );
    assert!(!birth.field_name.vi.is_empty());
    assert!(a.device.procedures("").len() > found.len());
}

#[test]
fn the_dashboard_figures_come_from_the_statistics_with_the_codes_behind_them() {
    let mut hub = MemoryHub::new();
    let mut a = Tablet::new("a", 1, &mut hub);
    // Birth registration is due the day it is received.
    let done = a.receive("Nguyễn Văn An", "001203001234", "", NOW);
    a.receive("Đỗ Thị Bình", "001203009999", "", NOW + 1000);
    a.device.return_result(&done, "", NOW + HOUR).unwrap();
    let code = a.device.dossier(&done, NOW).unwrap().row.code;
    let stats = a.device.statistics("2026-11-01", "2026-11-30").unwrap();
    let total = serde_json::to_value(&stats.summary.total).unwrap();
    assert_eq!(total["figures"]["received"], 2);
    assert_eq!(total["figures"]["on_time"], 1, "{total}");
    // As of the period's end the other one is past its appointment.
    assert_eq!(total["figures"]["overdue"], 1);
    assert_eq!(total["figures"]["on_time_rate"], 1.0);
    assert_eq!(total["dossiers"]["on_time"], serde_json::json!([code]));
    let clerks = serde_json::to_value(&stats.summary.by_clerk).unwrap();
    assert_eq!(clerks[0]["key"], "canbo.tanphong");
    assert_eq!(stats.columns.len(), 15);
    assert!(a.device.statistics("2026-11-30", "2026-11-01").is_err());
}
