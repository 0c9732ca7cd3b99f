//! The store on real SQLite files in a temporary directory.

use std::collections::BTreeSet;

use automerge::{ActorId, Automerge, ChangeHash};
use client_core::dossier::*;
use client_core::ids::{DocId, DossierCode, IdNumber, UnitCode};
use client_core::stage::Stage;
use client_core::sync::hub::DeviceIdentity;
use client_core::sync::protocol::{DocChanges, DocOutcome, Push};
use client_core::units::{Unit, UnitLevel};

use super::Store;
use super::documents::COMPACT_AFTER_ROWS;

const T0: i64 = 1_795_831_200_000; // 2026-11-28T08:00:00+07:00

pub(crate) fn unit(code: &str) -> UnitCode {
    UnitCode::parse(code).unwrap()
}

/// A store with province T01 and these communes under it.
pub(crate) fn province_with(dir: &std::path::Path, communes: &[&str]) -> Store {
    let store = Store::open(dir).unwrap();
    let mut units = vec![Unit {
        code: unit("T01"),
        name: "Tỉnh".into(),
        level: UnitLevel::Province,
        parent: None,
        effective_from: None,
        effective_to: None,
    }];
    units.extend(communes.iter().map(|code| Unit {
        code: unit(code),
        name: format!("Xã {code}"),
        level: UnitLevel::Commune,
        parent: Some(unit("T01")),
        effective_from: None,
        effective_to: None,
    }));
    store.upsert_units(&units).unwrap();
    store
}

fn store(dir: &std::path::Path) -> Store {
    province_with(dir, &["X0101"])
}

fn device(actor: &ActorId) -> DeviceIdentity {
    DeviceIdentity {
        device_id: "dev-1".into(),
        unit: unit("X0101"),
        scope: BTreeSet::from([unit("X0101")]),
        actors: BTreeSet::from([actor.clone()]),
        code_slots: vec![0],
    }
}

fn new_dossier(actor: &ActorId) -> DossierDoc {
    let d = Dossier {
        code: DossierCode::parse("X0101-261128-0001").unwrap(),
        unit: unit("X0101"),
        field: "tu_phap_ho_tich".into(),
        procedure: ProcedureRef {
            id: "1.001193".into(),
            version: "2025.1".into(),
            name: "Đăng ký khai sinh".into(),
        },
        processing: client_core::deadline::ProcessingTime::working_days(0),
        pause_rule: client_core::deadline::PauseRule::Restart,
        channel: Channel::Direct,
        applicant: Applicant {
            full_name: "Nguyễn Văn An".into(),
            id_number: IdNumber::parse("001203001234").unwrap(),
            phone: None,
            address: String::new(),
        },
        documents: vec![HandedDocument {
            name: "Tờ khai".into(),
            form: DocumentForm::Original,
            count: 1,
        }],
        sets: 1,
        received_at: T0,
        due_at: T0 + 9 * 3_600_000,
        fee: Fee {
            amount_vnd: 0,
            paid: true,
        },
        result_delivery: ResultDelivery {
            method: DeliveryMethod::Counter,
            place: "Một cửa".into(),
        },
        stages: vec![],
    };
    let first = NewStage {
        stage: Stage::Received,
        at: T0,
        user: "c".into(),
        device: "d".into(),
        unit: unit("X0101"),
        note: String::new(),
    };
    DossierDoc::create(actor.clone(), &d, first).unwrap()
}

fn push(store: &Store, dev: &DeviceIdentity, id: DocId, bytes: Vec<u8>) -> DocOutcome {
    let (results, _) = store
        .commit_device_push(
            dev,
            Push {
                batch: 1,
                docs: vec![DocChanges { doc: id, bytes }],
            },
        )
        .unwrap();
    results.into_iter().next().unwrap().outcome
}

fn index_stage(store: &Store, code: &str) -> Option<String> {
    store
        .read(|c| {
            Ok(
                c.query_row("SELECT stage FROM dossiers WHERE code = ?1", [code], |r| {
                    r.get(0)
                })?,
            )
        })
        .unwrap()
}

#[test]
fn a_device_with_nothing_of_a_document_receives_it_whole_and_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let actor = ActorId::from(vec![1u8; 16]);
    let dev = device(&actor);
    let mut other = device(&actor);
    other.device_id = "dev-2".into();
    let id = DocId::random();
    let mut doc = new_dossier(&actor);
    for (i, stage) in [Stage::HandedOver, Stage::Assigned, Stage::Processing]
        .into_iter()
        .enumerate()
    {
        doc.record_stage(NewStage {
            stage,
            at: T0 + 1000 * (i as i64 + 1),
            user: "s".into(),
            device: "d".into(),
            unit: unit("X0101"),
            note: String::new(),
        })
        .unwrap();
    }
    assert!(matches!(
        push(&store, &dev, id, doc.save()),
        DocOutcome::Accepted { .. }
    ));
    let rows: i64 = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT length(bytes) FROM changes WHERE doc_id = ?1",
                [id.as_bytes()],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    let mut session = store.clone();
    let page = client_core::sync::hub::HubStore::changes_since(&mut session, &other, 0, usize::MAX)
        .unwrap();
    let sent = page.docs.iter().find(|d| d.doc == id).unwrap();
    assert!(
        (sent.bytes.len() as i64) < rows,
        "{} ≥ {rows}",
        sent.bytes.len()
    );
    let received = Automerge::load(&sent.bytes).unwrap();
    assert_eq!(sorted(received.get_heads()), sorted(doc.heads()));
    // The device that pushed it is not sent it back.
    let page =
        client_core::sync::hub::HubStore::changes_since(&mut session, &dev, 0, usize::MAX).unwrap();
    assert!(page.docs.iter().all(|d| d.doc != id), "echoed back");

    // A device that had it up to its first commit gets only what came after.
    let first = store.current_seq().unwrap();
    let before = doc.heads();
    doc.record_stage(NewStage {
        stage: Stage::Reviewed,
        at: T0 + 9000,
        user: "s".into(),
        device: "d".into(),
        unit: unit("X0101"),
        note: String::new(),
    })
    .unwrap();
    let later = doc.automerge().save_after(&before);
    assert!(matches!(
        push(&store, &dev, id, later.clone()),
        DocOutcome::Accepted { .. }
    ));
    let page =
        client_core::sync::hub::HubStore::changes_since(&mut session, &other, first, usize::MAX)
            .unwrap();
    let sent = page.docs.iter().find(|d| d.doc == id).unwrap();
    let mut replica = received;
    replica.load_incremental(&sent.bytes).unwrap();
    assert_eq!(sorted(replica.get_heads()), sorted(doc.heads()));
    assert!(sent.bytes.len() <= later.len() + 64, "only the new change");
}

#[test]
fn compaction_keeps_the_document_whole_for_every_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let actor = ActorId::from(vec![1u8; 16]);
    let dev = device(&actor);
    let mut other = device(&actor);
    other.device_id = "dev-2".into();
    let id = DocId::random();
    let mut doc = new_dossier(&actor);
    assert!(matches!(
        push(&store, &dev, id, doc.save()),
        DocOutcome::Accepted { .. }
    ));
    let mut checkpoints = vec![(store.current_seq().unwrap(), doc.heads())];
    // Alternate two stages so every push adds one change row.
    for i in 0..(COMPACT_AFTER_ROWS + 10) {
        let before = doc.heads();
        let stage = if i % 2 == 0 {
            Stage::Processing
        } else {
            Stage::Reviewed
        };
        doc.record_stage(NewStage {
            stage,
            at: T0 + 1000 * (i + 1),
            user: "s".into(),
            device: "d".into(),
            unit: unit("X0101"),
            note: String::new(),
        })
        .unwrap();
        let outcome = push(&store, &dev, id, doc.automerge().save_after(&before));
        assert!(
            matches!(outcome, DocOutcome::Accepted { .. }),
            "{outcome:?}"
        );
        checkpoints.push((store.current_seq().unwrap(), doc.heads()));
    }
    let rows: i64 = store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM changes", [], |r| r.get(0))?))
        .unwrap();
    assert!(
        rows < COMPACT_AFTER_ROWS,
        "the change rows were folded into a snapshot ({rows} left)"
    );

    // A device at any checkpoint, after loading what the hub sends, has the
    // hub's document exactly.
    let expected = doc.heads();
    let mut starts = vec![(0, Vec::new())];
    starts.extend(checkpoints.iter().step_by(7).cloned());
    for (since, heads) in starts {
        let mut replica = if heads.is_empty() {
            Automerge::new()
        } else {
            doc.automerge().fork_at(&heads).unwrap()
        };
        let mut session = store.clone();
        let page = client_core::sync::hub::HubStore::changes_since(
            &mut session,
            &other,
            since,
            usize::MAX,
        )
        .unwrap();
        assert!(page.done);
        for d in page.docs {
            replica.load_incremental(&d.bytes).unwrap();
        }
        assert_eq!(
            sorted(replica.get_heads()),
            sorted(expected.clone()),
            "from checkpoint {since}"
        );
    }
    // Reopening reads the same document and the same index.
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        sorted(store.load_doc(&id).unwrap().unwrap().get_heads()),
        sorted(expected)
    );
    assert_eq!(
        index_stage(&store, "X0101-261128-0001").as_deref(),
        Some("reviewed")
    );
}

fn sorted(mut v: Vec<ChangeHash>) -> Vec<ChangeHash> {
    v.sort();
    v
}

#[test]
fn the_index_follows_accepted_changes_and_ignores_refused_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let actor = ActorId::from(vec![1u8; 16]);
    let dev = device(&actor);
    let id = DocId::random();
    let mut doc = new_dossier(&actor);
    push(&store, &dev, id, doc.save());
    assert_eq!(
        index_stage(&store, "X0101-261128-0001").as_deref(),
        Some("received")
    );

    let before = doc.heads();
    doc.record_stage(NewStage {
        stage: Stage::Done,
        at: T0 + 1,
        user: "s".into(),
        device: "d".into(),
        unit: unit("X0101"),
        note: String::new(),
    })
    .unwrap();
    push(&store, &dev, id, doc.automerge().save_after(&before));
    assert_eq!(
        index_stage(&store, "X0101-261128-0001").as_deref(),
        Some("done")
    );

    // A change by an unbound actor changes nothing and is quarantined.
    let mut forged = doc.clone();
    forged.set_actor(ActorId::from(vec![9u8; 16]));
    let before = forged.heads();
    forged
        .record_stage(NewStage {
            stage: Stage::ResultReturned,
            at: T0 + 2,
            user: "x".into(),
            device: "x".into(),
            unit: unit("X0101"),
            note: String::new(),
        })
        .unwrap();
    let outcome = push(&store, &dev, id, forged.automerge().save_after(&before));
    assert!(matches!(outcome, DocOutcome::Refused { .. }));
    assert_eq!(
        index_stage(&store, "X0101-261128-0001").as_deref(),
        Some("done")
    );
    assert_eq!(store.quarantine_count().unwrap(), 1);

    // The same push again is idempotent: accepted, no new change row.
    let seq = store.current_seq().unwrap();
    assert!(matches!(
        push(&store, &dev, id, doc.save()),
        DocOutcome::Accepted { .. }
    ));
    assert_eq!(store.current_seq().unwrap(), seq);
}

#[test]
fn a_second_dossier_with_the_same_code_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let actor = ActorId::from(vec![1u8; 16]);
    let dev = device(&actor);
    push(&store, &dev, DocId::random(), new_dossier(&actor).save());
    let outcome = push(&store, &dev, DocId::random(), new_dossier(&actor).save());
    assert!(
        matches!(
            outcome,
            DocOutcome::Refused {
                reason: client_core::sync::protocol::Refusal::DuplicateCode,
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[test]
fn loaded_documents_stay_within_the_cache_bound() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with_cache(dir.path(), 3).unwrap();
    store
        .upsert_units(&[Unit {
            code: unit("X0101"),
            name: "Xã".into(),
            level: UnitLevel::Commune,
            parent: None,
            effective_from: None,
            effective_to: None,
        }])
        .unwrap();
    let actor = ActorId::from(vec![1u8; 16]);
    let dev = device(&actor);
    for n in 1..=10u16 {
        let mut d = new_dossier(&actor).read().unwrap();
        d.code = DossierCode::parse(&format!("X0101-261128-{n:04}")).unwrap();
        d.stages.clear();
        let first = NewStage {
            stage: Stage::Received,
            at: T0,
            user: "c".into(),
            device: "d".into(),
            unit: unit("X0101"),
            note: String::new(),
        };
        let doc = DossierDoc::create(actor.clone(), &d, first).unwrap();
        push(&store, &dev, DocId::random(), doc.save());
    }
    assert!(
        store.cached_documents() <= 3,
        "{} documents in memory",
        store.cached_documents()
    );
    assert_eq!(store.dossier_count().unwrap(), 10);
}
