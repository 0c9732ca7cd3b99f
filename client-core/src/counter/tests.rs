use super::*;
use crate::ids::IdNumber;
use crate::sync::replica::MemoryStorage;

const MINUTE: i64 = 60_000;

fn at(rfc3339: &str) -> i64 {
    time::parse_rfc3339(rfc3339).unwrap().timestamp_millis()
}

fn replica() -> DeviceReplica<MemoryStorage> {
    DeviceReplica::open(MemoryStorage::new(), ActorId::from(vec![7; 16])).unwrap()
}

fn clerk() -> Clerk {
    Clerk {
        user: "canbo1".into(),
        device: "tablet-1".into(),
        unit: UnitCode::parse("X0101").unwrap(),
    }
}

/// A counter at X0101 holding code slot 3 (numbers 0301 to 0399).
fn counter_at(replica: &mut DeviceReplica<MemoryStorage>, now: i64) -> Counter {
    let issuer = code_issuer(UnitCode::parse("X0101").unwrap(), &[3]).unwrap();
    Counter::open(replica, clerk(), issuer, now).unwrap()
}

fn marriage_status_certificate(name: &str) -> NewDossier {
    NewDossier {
        // Cấp Giấy xác nhận tình trạng hôn nhân: 3 working days, 10,000 ₫.
        procedure_id: "1.004873".into(),
        applicant: Applicant {
            full_name: name.into(),
            id_number: IdNumber::parse("001203001234").unwrap(),
            phone: None,
            address: "Thôn Đông".into(),
        },
        documents: None,
        sets: 1,
        channel: Channel::Direct,
        fee_paid: false,
        result_delivery: None,
        note: String::new(),
    }
}

#[test]
fn receiving_numbers_codes_from_the_slot_sets_the_appointment_and_the_first_stage() {
    let mut r = replica();
    // Friday 27 November 2026, in the morning.
    let now = at("2026-11-27T09:30:00+07:00");
    let mut counter = counter_at(&mut r, now);
    let first = counter
        .receive(&mut r, marriage_status_certificate("Nguyễn Văn An"), now)
        .unwrap();
    let second = counter
        .receive(
            &mut r,
            marriage_status_certificate("Trần Thị Bình"),
            now + MINUTE,
        )
        .unwrap();
    assert_eq!(first.dossier.code.to_string(), "X0101-261127-0301");
    assert_eq!(second.dossier.code.to_string(), "X0101-261127-0302");
    // Three working days after a Friday morning: Mon 30, Tue 1, Wed 2
    // December; received in the morning, due by the end of that morning.
    assert_eq!(
        time::format_rfc3339(&time::from_millis(first.dossier.due_at).unwrap()),
        "2026-12-02T11:30:00+07:00"
    );
    let stages = &first.dossier.stages;
    assert_eq!(stages.len(), 1);
    assert_eq!(stages[0].stage, Stage::Received);
    assert_eq!(
        (stages[0].user.as_str(), stages[0].device.as_str()),
        ("canbo1", "tablet-1")
    );
    assert_eq!(stages[0].at, now);
    // The procedure's required documents, its fee not yet paid.
    assert_eq!(first.dossier.documents.len(), 3);
    assert_eq!(first.dossier.fee.amount_vnd, 10_000);
    assert!(!first.dossier.fee.paid);
    // Stored in the replica, waiting for the hub.
    assert_eq!(r.len(), 2);
    assert!(r.meta(&first.doc_id).unwrap().is_pending());

    // A counter opened later on the same replica goes on from the last code.
    let mut later = counter_at(&mut r, now + 2 * MINUTE);
    let third = later
        .receive(
            &mut r,
            marriage_status_certificate("Lê Văn Cường"),
            now + 2 * MINUTE,
        )
        .unwrap();
    assert_eq!(third.dossier.code.to_string(), "X0101-261127-0303");
}

#[test]
fn a_device_without_code_slots_cannot_receive() {
    let err = code_issuer(UnitCode::parse("X0101").unwrap(), &[]).unwrap_err();
    assert!(matches!(err, CodeError::NoSlots(_)), "{err}");
    let err = code_issuer(UnitCode::parse("X0101").unwrap(), &[100]).unwrap_err();
    assert!(matches!(err, CodeError::BadSlot(100)), "{err}");
}

#[test]
fn an_unknown_procedure_is_refused_and_nothing_is_stored() {
    let mut r = replica();
    let now = at("2026-11-27T09:30:00+07:00");
    let mut counter = counter_at(&mut r, now);
    let mut form = marriage_status_certificate("Nguyễn Văn An");
    form.procedure_id = "9.999999".into();
    let err = counter.receive(&mut r, form, now).unwrap_err();
    assert!(
        matches!(err, CounterError::Intake(IntakeError::UnknownProcedure(ref p)) if p == "9.999999"),
        "{err}"
    );
    assert!(r.is_empty());
}

#[test]
fn a_stage_is_recorded_by_the_clerk_only_where_the_stage_machine_allows_it() {
    let mut r = replica();
    let now = at("2026-11-27T09:30:00+07:00");
    let received = counter_at(&mut r, now)
        .receive(&mut r, marriage_status_certificate("Nguyễn Văn An"), now)
        .unwrap();
    let id = received.doc_id;
    let entry = clerk()
        .record_stage(
            &mut r,
            &id,
            Stage::HandedOver,
            "chuyển tư pháp",
            now + MINUTE,
        )
        .unwrap();
    assert_eq!(entry.stage, Stage::HandedOver);
    assert_eq!(entry.unit.as_str(), "X0101");
    assert_eq!(entry.note, "chuyển tư pháp");
    let err = clerk()
        .record_stage(&mut r, &id, Stage::SupplementReceived, "", now + 2 * MINUTE)
        .unwrap_err();
    assert!(matches!(err, CounterError::Replica(_)), "{err}");
    let current = r.dossiers().next().unwrap().1.progress().current;
    assert_eq!(current, Some(Stage::HandedOver));
}

#[test]
fn a_supplement_request_stores_the_missing_documents_as_a_list() {
    let mut r = replica();
    let now = at("2026-11-27T09:30:00+07:00");
    let id = counter_at(&mut r, now)
        .receive(&mut r, marriage_status_certificate("Nguyễn Văn An"), now)
        .unwrap()
        .doc_id;
    let err = clerk()
        .request_supplement(&mut r, &id, &[" ".into(), String::new()], "", now + MINUTE)
        .unwrap_err();
    assert!(matches!(err, CounterError::NothingMissing), "{err}");

    let entry = clerk()
        .request_supplement(
            &mut r,
            &id,
            &[
                " Giấy chứng sinh (bản chính) ".into(),
                "".into(),
                "Sổ hộ khẩu".into(),
            ],
            "Mang theo CCCD",
            now + MINUTE,
        )
        .unwrap();
    assert_eq!(entry.stage, Stage::SupplementRequested);
    assert_eq!(entry.missing, ["Giấy chứng sinh (bản chính)", "Sổ hộ khẩu"]);
    assert_eq!(entry.note, "Mang theo CCCD");
    // As the replica reads it back from the document.
    let doc = r.doc(&id).unwrap().read().unwrap();
    let request = doc.stages.last().unwrap();
    assert_eq!(
        request.missing,
        ["Giấy chứng sinh (bản chính)", "Sổ hộ khẩu"]
    );
    assert_eq!(request.note, "Mang theo CCCD");
    // The clock stops while the citizen gathers them.
    let calendar = WorkingCalendar::seeded(2026..=2027).unwrap();
    assert!(
        doc.standing(&calendar, now + 2 * MINUTE)
            .unwrap()
            .due
            .clock_stopped
    );
}

#[test]
fn returning_the_result_records_done_first_when_the_dossier_is_still_open() {
    let mut r = replica();
    let now = at("2026-11-27T09:30:00+07:00");
    let id = counter_at(&mut r, now)
        .receive(&mut r, marriage_status_certificate("Nguyễn Văn An"), now)
        .unwrap()
        .doc_id;
    let returned_at = at("2026-12-01T15:00:00+07:00");
    let recorded = clerk()
        .return_result(&mut r, &id, "đã trả", returned_at)
        .unwrap();
    let stages: Vec<(Stage, i64)> = recorded.iter().map(|e| (e.stage, e.at)).collect();
    assert_eq!(
        stages,
        [
            (Stage::Done, returned_at - 1),
            (Stage::ResultReturned, returned_at)
        ]
    );
    assert_eq!(recorded[1].note, "đã trả");
    let dossier = r.doc(&id).unwrap().read().unwrap();
    assert!(dossier.progress().is_closed());

    // Done already: only the return is recorded.
    let id = counter_at(&mut r, now)
        .receive(&mut r, marriage_status_certificate("Trần Thị Bình"), now)
        .unwrap()
        .doc_id;
    clerk()
        .record_stage(&mut r, &id, Stage::Done, "", returned_at - MINUTE)
        .unwrap();
    let recorded = clerk().return_result(&mut r, &id, "", returned_at).unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].stage, Stage::ResultReturned);
}

#[test]
fn before_the_first_sync_the_counter_works_with_the_built_in_configuration() {
    let mut r = replica();
    assert_eq!(catalogue(&mut r), Catalogue::seed());
    assert!(units(&mut r).is_none());
    let calendar = calendar(&mut r, 2026).unwrap();
    // Quốc khánh, 2 September 2026 (Bộ luật Lao động 2019, art. 112).
    assert!(!calendar.is_working_day(chrono::NaiveDate::from_ymd_opt(2026, 9, 2).unwrap()));
}
