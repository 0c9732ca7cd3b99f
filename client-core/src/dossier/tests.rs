use automerge::transaction::Transactable;
use automerge::{ActorId, ROOT, ReadDoc};
use proptest::prelude::*;

use super::document::EditableField;
use super::*;
use crate::stage::{Outcome, Stage};
use crate::testing::DossierFixture;

const T0: i64 = 1_795_831_200_000; // 2026-11-28T08:00:00+07:00

fn actor(n: u8) -> ActorId {
    ActorId::from(vec![n; 16])
}

fn unit() -> UnitCode {
    UnitCode::parse("26734").unwrap()
}

pub(crate) fn sample() -> Dossier {
    DossierFixture::new("26734", 1)
        .procedure(
            "1.004873",
            "2025.1",
            "Cấp Giấy xác nhận tình trạng hôn nhân",
        )
        .processing(ProcessingTime::working_days(3), PauseRule::Restart)
        .applicant(
            "Nguyễn Văn An",
            Some("0912345678"),
            "Thôn Đông, xã Tân Phong",
        )
        .due_at(T0 + 3 * 86_400_000)
        .collected_at("Bộ phận Một cửa")
        .dossier()
}

fn stage(stage: Stage, at: i64, who: &str) -> NewStage {
    NewStage {
        stage,
        at,
        user: who.into(),
        device: format!("{who}-tablet"),
        unit: unit(),
        note: String::new(),
    }
}

fn created() -> DossierDoc {
    DossierDoc::create(actor(1), &sample(), stage(Stage::Received, T0, "clerk1")).unwrap()
}

fn meta(at: i64) -> ChangeMeta {
    ChangeMeta {
        at,
        message: "edit".into(),
    }
}

#[test]
fn a_created_dossier_reads_back_exactly_after_save_and_load() {
    let doc = created();
    let loaded = DossierDoc::load(&doc.save()).unwrap();
    let read = loaded.read().unwrap();
    let mut expected = sample();
    expected.stages = read.stages.clone();
    assert_eq!(read, expected);
    assert_eq!(read.stages.len(), 1);
    assert_eq!(read.stages[0].stage, Stage::Received);
    assert_eq!(read.progress().status.map(|s| s.code()), Some(2));
}

#[test]
fn text_is_stored_in_nfc() {
    let mut d = sample();
    d.applicant.full_name = "Nguye\u{302}\u{303}n  Văn An ".into(); // NFD, extra spaces
    let doc = DossierDoc::create(actor(1), &d, stage(Stage::Received, T0, "clerk1")).unwrap();
    assert_eq!(doc.read().unwrap().applicant.full_name, "Nguyễn Văn An");
}

#[test]
fn creation_refuses_an_invalid_dossier_naming_the_field() {
    let mut d = sample();
    d.applicant.full_name = "  ".into();
    let err = DossierDoc::create(actor(1), &d, stage(Stage::Received, T0, "c")).unwrap_err();
    assert!(err.to_string().contains("applicant.full_name"), "{err}");

    let mut d = sample();
    d.code = DossierCode::parse("99999-261128-0001").unwrap();
    let err = DossierDoc::create(actor(1), &d, stage(Stage::Received, T0, "c")).unwrap_err();
    assert!(err.to_string().contains("field 'code'"), "{err}");

    let err = DossierDoc::create(actor(1), &sample(), stage(Stage::Done, T0, "c")).unwrap_err();
    assert!(err.to_string().contains("must start with"), "{err}");
}

#[test]
fn reading_names_unknown_missing_and_mistyped_fields() {
    let mut doc = created();
    doc.automerge_mut()
        .transact(|tx| tx.put(ROOT, "secret", "x"))
        .unwrap();
    assert_eq!(doc.read().unwrap_err().field, "secret");

    let mut doc = created();
    doc.automerge_mut()
        .transact(|tx| tx.delete(ROOT, "sets"))
        .unwrap();
    let err = doc.read().unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.problem.as_str()),
        ("sets", "is missing")
    );

    let mut doc = created();
    doc.automerge_mut()
        .transact(|tx| tx.put(ROOT, "received_at", "yesterday"))
        .unwrap();
    assert_eq!(doc.read().unwrap_err().field, "received_at");

    let mut doc = created();
    let applicant = match doc.automerge().get(ROOT, "applicant").unwrap() {
        Some((_, id)) => id,
        None => unreachable!(),
    };
    doc.automerge_mut()
        .transact(|tx| tx.put(&applicant, "phone", "12"))
        .unwrap();
    assert_eq!(doc.read().unwrap_err().field, "applicant.phone");
}

#[test]
fn a_document_of_a_newer_schema_asks_for_an_update() {
    let mut doc = created();
    doc.automerge_mut()
        .transact(|tx| tx.put(ROOT, "schema", 2u64))
        .unwrap();
    let err = doc.read().unwrap_err();
    assert_eq!(err.field, "schema");
    assert!(err.problem.contains("update"));
}

#[test]
fn stages_follow_the_stage_machine() {
    let mut doc = created();
    doc.record_stage(stage(Stage::Processing, T0 + 1000, "spec"))
        .unwrap();
    let err = doc
        .record_stage(stage(Stage::SupplementReceived, T0 + 2000, "spec"))
        .unwrap_err();
    assert!(matches!(err, DocumentError::Transition(_)), "{err}");
    doc.record_stage(stage(Stage::Done, T0 + 3000, "spec"))
        .unwrap();
    doc.record_stage(stage(Stage::ResultReturned, T0 + 4000, "clerk1"))
        .unwrap();
    let err = doc
        .record_stage(stage(Stage::Processing, T0 + 5000, "spec"))
        .unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
    let p = doc.progress().unwrap();
    assert_eq!(p.status.map(|s| s.code()), Some(10));
    assert_eq!(
        p.outcome,
        Outcome::Resolved {
            at: T0 + 3000,
            returned: true
        }
    );
}

#[test]
fn concurrent_edits_of_a_field_are_listed_with_who_and_when_and_can_be_resolved() {
    let mut a = created();
    let mut b = a.clone();
    b.set_actor(actor(2));
    a.set_field(
        EditableField::ApplicantPhone,
        "0912 000 111",
        &meta(T0 + 10),
    )
    .unwrap();
    b.set_field(EditableField::ApplicantPhone, "0988000222", &meta(T0 + 20))
        .unwrap();
    b.set_field(EditableField::FeePaid, "true", &meta(T0 + 30))
        .unwrap();
    a.merge(&mut b).unwrap();

    let conflicts = a.conflicts();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    assert_eq!(c.path, "applicant.phone");
    let mut values: Vec<(&str, Option<i64>)> =
        c.values.iter().map(|v| (v.value.as_str(), v.at)).collect();
    values.sort();
    assert_eq!(
        values,
        vec![("0912000111", Some(T0 + 10)), ("0988000222", Some(T0 + 20))]
    );
    assert_eq!(c.values.iter().filter(|v| v.shown).count(), 1);
    let actors: Vec<&str> = c.values.iter().map(|v| v.actor.as_str()).collect();
    assert!(actors.contains(&actor(1).to_hex_string().as_str()));
    assert!(actors.contains(&actor(2).to_hex_string().as_str()));
    assert!(c.values.iter().all(|v| v.by.as_deref() == Some("edit")));

    // Picking a value is one more write; it replaces both.
    a.set_field(EditableField::ApplicantPhone, "0988000222", &meta(T0 + 40))
        .unwrap();
    assert!(a.conflicts().is_empty());
    assert_eq!(
        a.read().unwrap().applicant.phone.unwrap().as_str(),
        "0988000222"
    );
    assert!(a.read().unwrap().fee.paid);
}

#[test]
fn an_invalid_edit_never_enters_the_document() {
    let mut doc = created();
    let heads = doc.heads();
    let err = doc
        .set_field(EditableField::ApplicantIdNumber, "12", &meta(T0))
        .unwrap_err();
    assert!(err.to_string().contains("applicant.id_number"), "{err}");
    let err = doc
        .set_field(EditableField::Sets, "0", &meta(T0))
        .unwrap_err();
    assert!(err.to_string().contains("sets"), "{err}");
    assert_eq!(doc.heads(), heads);
}

#[test]
fn documents_table_can_be_replaced() {
    let mut doc = created();
    let rows = vec![
        HandedDocument {
            name: "Tờ khai".into(),
            form: DocumentForm::Original,
            count: 1,
        },
        HandedDocument {
            name: "Bản sao CCCD".into(),
            form: DocumentForm::CertifiedCopy,
            count: 2,
        },
    ];
    doc.set_documents(&rows, &meta(T0 + 1)).unwrap();
    assert_eq!(doc.read().unwrap().documents, rows);
}

#[test]
fn updates_may_only_grow_the_stage_log() {
    let base = created();
    let before = base.read().unwrap();

    let mut grown = base.clone();
    grown
        .record_stage(stage(Stage::Processing, T0 + 1, "spec"))
        .unwrap();
    validate_update(&before, &grown.read().unwrap()).unwrap();

    let mut edited = grown.read().unwrap();
    edited.stages[0].note = "rewritten".into();
    let err = validate_update(&before, &edited).unwrap_err();
    assert_eq!(err.field, "stages[0]");

    let mut removed = grown.read().unwrap();
    removed.stages.remove(0);
    assert!(
        validate_update(&before, &removed)
            .unwrap_err()
            .problem
            .contains("append-only")
    );

    let mut moved = grown.read().unwrap();
    moved.received_at += 1;
    assert_eq!(
        validate_update(&before, &moved).unwrap_err().field,
        "received_at"
    );
}

/// One replica's offline session: a few stages recorded in order, each
/// allowed from what that replica saw at the time.
fn arb_session() -> impl Strategy<Value = Vec<(usize, i64)>> {
    proptest::collection::vec((0usize..64, 1i64..10_000), 0..5)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Replicas record stages offline from the same base and then merge in
    /// different orders; all end with the same status, and a replica that
    /// saw its dossier closed never sees it reopen.
    #[test]
    fn replicas_agree_on_status_whatever_the_merge_order(
        sessions in proptest::collection::vec(arb_session(), 2..5),
        rotation in 0usize..5,
    ) {
        let base = created();
        let mut replicas: Vec<DossierDoc> = Vec::new();
        for (r, session) in sessions.iter().enumerate() {
            let mut doc = base.clone();
            doc.set_actor(actor(10 + r as u8));
            let mut clock = T0;
            for (choice, step) in session {
                let current = doc.progress().unwrap().current.unwrap();
                let next = current.next_stages();
                if next.is_empty() { break; }
                clock += step;
                doc.record_stage(stage(next[choice % next.len()], clock, &format!("u{r}"))).unwrap();
            }
            replicas.push(doc);
        }
        let closed_before: Vec<bool> = replicas.iter().map(|d| d.progress().unwrap().is_closed()).collect();

        // Each replica merges all others, starting at a different one.
        let n = replicas.len();
        let mut merged = Vec::new();
        for i in 0..n {
            let mut doc = replicas[i].clone();
            for k in 0..n {
                let mut other = replicas[(i + rotation + k) % n].clone();
                doc.merge(&mut other).unwrap();
            }
            merged.push(doc);
        }
        let reference = merged[0].progress().unwrap();
        for (i, doc) in merged.iter().enumerate() {
            let p = doc.progress().unwrap();
            prop_assert_eq!(&p, &reference);
            prop_assert_eq!(doc.heads(), merged[0].heads());
            doc.read().unwrap();
            if closed_before[i] {
                prop_assert!(p.is_closed());
            }
        }
    }
}

#[test]
fn standing_follows_the_deadline_engine() {
    use crate::calendar::WorkingCalendar;
    use crate::deadline::Timeliness;
    let calendar = WorkingCalendar::seeded(2026..=2026).unwrap();
    // Received Monday 2026-11-23 08:00, three working days: due Thursday 26 at 11:30.
    let monday = crate::time::parse_rfc3339("2026-11-23T08:00:00+07:00")
        .unwrap()
        .timestamp_millis();
    let day = 86_400_000;
    let mut d = sample();
    d.code = DossierCode::parse("26734-261123-0001").unwrap();
    d.received_at = monday;
    d.due_at = monday + 3 * day;
    let doc = DossierDoc::create(actor(1), &d, stage(Stage::Received, monday, "c")).unwrap();
    let finish = |at: i64| {
        let mut doc = doc.clone();
        doc.record_stage(stage(Stage::Done, at, "s")).unwrap();
        doc.read()
            .unwrap()
            .standing(&calendar, at + day)
            .unwrap()
            .timeliness
    };
    assert_eq!(finish(monday + 2 * day), Timeliness::Early);
    assert_eq!(finish(monday + 3 * day + 8 * 3_600_000), Timeliness::OnTime);
    assert_eq!(finish(monday + 4 * day), Timeliness::Late);
    let open = doc.read().unwrap();
    assert_eq!(
        open.standing(&calendar, monday + 3 * day)
            .unwrap()
            .timeliness,
        Timeliness::WithinDeadline
    );
    assert_eq!(
        open.standing(&calendar, monday + 4 * day)
            .unwrap()
            .timeliness,
        Timeliness::Overdue
    );
    let standing = open.standing(&calendar, monday).unwrap();
    assert_eq!(
        crate::time::format_rfc3339(&standing.due.at),
        "2026-11-26T11:30:00+07:00"
    );
}

#[test]
fn a_supplement_request_keeps_its_missing_documents_as_a_list() {
    let mut doc = created();
    let mut request = stage(Stage::SupplementRequested, T0 + 1000, "clerk1");
    request.note = "Mang theo CCCD".into();
    let entry = doc
        .request_supplement(
            request,
            vec!["Giấy chứng sinh (bản chính)".into(), "Sổ hộ khẩu".into()],
        )
        .unwrap();
    assert_eq!(entry.missing, ["Giấy chứng sinh (bản chính)", "Sổ hộ khẩu"]);
    let read = DossierDoc::load(&doc.save()).unwrap().read().unwrap();
    let last = read.stages.last().unwrap();
    assert_eq!(last.stage, Stage::SupplementRequested);
    assert_eq!(last.missing, ["Giấy chứng sinh (bản chính)", "Sổ hộ khẩu"]);
    assert_eq!(last.note, "Mang theo CCCD");
    // Other stages list nothing.
    assert!(read.stages[0].missing.is_empty());
}

#[test]
fn only_a_supplement_request_lists_missing_documents() {
    let mut doc = created();
    let err = doc
        .request_supplement(
            stage(Stage::Processing, T0 + 1000, "spec"),
            vec!["Tờ khai".into()],
        )
        .unwrap_err();
    assert!(err.to_string().contains("supplement_requested"), "{err}");
    let err = doc
        .request_supplement(
            stage(Stage::SupplementRequested, T0 + 1000, "clerk1"),
            vec![" ".into()],
        )
        .unwrap_err();
    assert!(err.to_string().contains("stages[1].missing[0]"), "{err}");
    assert_eq!(doc.read().unwrap().stages.len(), 1, "nothing was written");

    // A device that writes a list on another stage makes a document that
    // does not read.
    let mut doc = created();
    let first = stage_item(&doc, 0);
    doc.automerge_mut()
        .transact(|tx| {
            let list = tx.put_object(&first, "missing", automerge::ObjType::List)?;
            tx.insert(&list, 0, "Tờ khai")
        })
        .unwrap();
    assert_eq!(doc.read().unwrap_err().field, "stages[0].missing");
}

#[test]
fn an_old_supplement_request_with_its_list_in_the_note_reads_as_a_list() {
    // Written before the list had its own field: "- " before the missing
    // document in the note, and no `missing` key.
    let mut doc = created();
    let mut old = stage(Stage::SupplementRequested, T0 + 1000, "clerk1");
    old.note = "- Bản sao giấy chứng sinh có chứng thực".into();
    doc.record_stage(old).unwrap();
    let request = stage_item(&doc, 1);
    assert!(doc.automerge().get(&request, "missing").unwrap().is_none());
    let read = DossierDoc::load(&doc.save()).unwrap().read().unwrap();
    assert_eq!(
        read.stages[1].missing,
        ["Bản sao giấy chứng sinh có chứng thực"]
    );
    assert_eq!(read.stages[1].note, "");

    // A note kept on several lines: one document per "- " line, then the
    // clerk's note.
    doc.automerge_mut()
        .transact(|tx| {
            tx.put(
                &request,
                "note",
                "- Giấy chứng sinh (bản chính)\n- Sổ hộ khẩu\nMang theo CCCD",
            )
        })
        .unwrap();
    let read = doc.read().unwrap();
    assert_eq!(
        read.stages[1].missing,
        ["Giấy chứng sinh (bản chính)", "Sổ hộ khẩu"]
    );
    assert_eq!(read.stages[1].note, "Mang theo CCCD");

    // The note of any other stage is read as written.
    let mut doc = created();
    let mut processing = stage(Stage::Processing, T0 + 1000, "spec");
    processing.note = "- đã xem".into();
    doc.record_stage(processing).unwrap();
    let read = doc.read().unwrap();
    assert_eq!(read.stages[1].note, "- đã xem");
    assert!(read.stages[1].missing.is_empty());
}

/// The object of the stage log's entry `i`.
fn stage_item(doc: &DossierDoc, i: usize) -> automerge::ObjId {
    let stages = match doc.automerge().get(ROOT, "stages").unwrap() {
        Some((_, id)) => id,
        None => unreachable!(),
    };
    match doc.automerge().get(&stages, i).unwrap() {
        Some((_, id)) => id,
        None => unreachable!(),
    }
}
