//! The store on real SQLite files in a temporary directory.

use std::collections::BTreeSet;

use automerge::{ActorId, Automerge, ChangeHash};
use client_core::dossier::*;
use client_core::ids::{DocId, DossierCode, UnitCode};
use client_core::stage::Stage;
use client_core::sync::hub::DeviceIdentity;
use client_core::sync::protocol::{DocChanges, DocOutcome, Push};
use client_core::testing::DossierFixture;
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

pub(super) fn device(actor: &ActorId) -> DeviceIdentity {
    DeviceIdentity {
        device_id: "dev-1".into(),
        unit: unit("X0101"),
        scope: BTreeSet::from([unit("X0101")]),
        actors: BTreeSet::from([actor.clone()]),
        code_slots: vec![0],
    }
}

fn new_dossier(actor: &ActorId) -> DossierDoc {
    dossier_numbered(actor, 1)
}

/// A new dossier numbered `n` of the day, received and nothing more.
pub(super) fn dossier_numbered(actor: &ActorId, n: u16) -> DossierDoc {
    DossierFixture::new("X0101", n)
        .field("tu_phap_ho_tich")
        .procedure("1.001193", "2025.1", "Đăng ký khai sinh")
        .applicant("Nguyễn Văn An", None, "")
        .fee(0, true)
        .received_by("c", "d")
        .doc(actor)
}

pub(super) fn push(store: &Store, dev: &DeviceIdentity, id: DocId, bytes: Vec<u8>) -> DocOutcome {
    let (results, _) = store
        .commit_push(
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

/// A store, the actor of the device that pushes, that device, and another
/// device of the same unit that receives.
fn store_with_two_devices(
    dir: &std::path::Path,
) -> (Store, ActorId, DeviceIdentity, DeviceIdentity) {
    let actor = ActorId::from(vec![1u8; 16]);
    let dev = device(&actor);
    let mut other = device(&actor);
    other.device_id = "dev-2".into();
    (store(dir), actor, dev, other)
}

#[test]
fn a_device_with_nothing_of_a_document_receives_it_whole_and_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, actor, dev, other) = store_with_two_devices(dir.path());
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
    let page =
        client_core::sync::hub::HubStore::changes_since(&mut session, &other, 0, 0, usize::MAX)
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
        client_core::sync::hub::HubStore::changes_since(&mut session, &dev, 0, 0, usize::MAX)
            .unwrap();
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
    let page = client_core::sync::hub::HubStore::changes_since(
        &mut session,
        &other,
        first,
        first,
        usize::MAX,
    )
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
    let (store, actor, dev, other) = store_with_two_devices(dir.path());
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
        let doc = dossier_numbered(&actor, n);
        push(&store, &dev, DocId::random(), doc.save());
    }
    assert!(
        store.cached_documents() <= 3,
        "{} documents in memory",
        store.cached_documents()
    );
    assert_eq!(store.dossier_count().unwrap(), 10);
}

#[test]
fn the_report_facts_of_the_index_are_those_of_the_document() {
    use client_core::statistics::{DossierFacts, Period};
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let actor = ActorId::from(vec![1u8; 16]);
    let dev = device(&actor);
    let id = DocId::random();
    let mut doc = new_dossier(&actor);
    for (stage, at) in [
        (Stage::SupplementRequested, T0 + 3_600_000),
        (Stage::SupplementReceived, T0 + 2 * 86_400_000),
        (Stage::Done, T0 + 3 * 86_400_000),
    ] {
        doc.record_stage(NewStage {
            stage,
            at,
            user: "cv".into(),
            device: "d".into(),
            unit: unit("X0101"),
            note: String::new(),
        })
        .unwrap();
    }
    push(&store, &dev, id, doc.save());
    let expected = DossierFacts::from_dossier(&doc.read().unwrap());

    let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let period = Period::new(day("2026-11-01"), day("2026-12-31")).unwrap();
    let load = store
        .report_facts(&[unit("T01"), unit("X0101")], &period, None, 3)
        .unwrap();
    let facts: Vec<DossierFacts> = load.parts.into_iter().flatten().collect();
    assert_eq!(facts, vec![expected.clone()]);
    assert!(load.damaged.is_empty());
    // Through the index by unit, the same.
    for (units, parts) in [
        (vec![unit("T01"), unit("X0101")], 2),
        (vec![unit("X0101")], 1),
    ] {
        let by_unit = store
            .report_facts_by(&units, &period, None, parts, false)
            .unwrap();
        let facts: Vec<DossierFacts> = by_unit.parts.into_iter().flatten().collect();
        assert_eq!(facts, vec![expected.clone()]);
    }
    // Closed before a later period began: not read at all.
    let later = Period::new(day("2027-01-01"), day("2027-01-31")).unwrap();
    let load = store
        .report_facts(&[unit("X0101")], &later, None, 2)
        .unwrap();
    assert_eq!(load.parts.iter().map(Vec::len).sum::<usize>(), 0);
    // Another field, or another unit, has none.
    let load = store
        .report_facts(&[unit("X0101")], &period, Some("dia_chinh"), 1)
        .unwrap();
    assert_eq!(load.parts.iter().map(Vec::len).sum::<usize>(), 0);
    let load = store
        .report_facts(&[unit("T01")], &period, None, 1)
        .unwrap();
    assert_eq!(load.parts.iter().map(Vec::len).sum::<usize>(), 0);
    assert_eq!(store.verify_index().unwrap(), Vec::<String>::new());
}

#[test]
fn verify_names_damaged_report_columns_and_rows_without_documents() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let actor = ActorId::from(vec![1u8; 16]);
    push(
        &store,
        &device(&actor),
        DocId::random(),
        new_dossier(&actor).save(),
    );
    store
        .write(|tx| {
            tx.execute("UPDATE dossier_facts SET facts = x'01'", [])?;
            Ok(())
        })
        .unwrap();
    let problems = store.verify_index().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("report facts are damaged"),
        "{problems:?}"
    );
    // A report leaves the row out and names it.
    let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let period =
        client_core::statistics::Period::new(day("2026-11-01"), day("2026-11-30")).unwrap();
    let load = store
        .report_facts(&[unit("X0101")], &period, None, 1)
        .unwrap();
    assert_eq!(load.parts.iter().map(Vec::len).sum::<usize>(), 0);
    assert_eq!(load.damaged.len(), 1);
    // A rebuild from the documents repairs it.
    assert_eq!(store.rebuild_index().unwrap(), 1);
    assert!(store.verify_index().unwrap().is_empty());

    let d = new_dossier(&actor).read().unwrap();
    let mut orphan = d.clone();
    orphan.code = DossierCode::parse("X0101-261128-0002").unwrap();
    store
        .write_index_only(&[(DocId::random(), orphan)])
        .unwrap();
    let problems = store.verify_index().unwrap();
    assert_eq!(
        problems,
        vec!["X0101-261128-0002: index row without a document".to_string()]
    );
}

#[test]
fn stage_logs_round_trip_through_their_stored_form() {
    use super::index::{decode_stage_log, encode_stage_log};
    use client_core::stage::StageEvent;
    let events: Vec<StageEvent> = Stage::ALL
        .iter()
        .enumerate()
        .map(|(i, stage)| StageEvent {
            stage: *stage,
            at: T0 + i as i64,
        })
        .collect();
    let bytes = encode_stage_log(&events);
    assert_eq!(bytes.len(), 9 * Stage::ALL.len());
    // The stored byte is the stage's place in Stage::ALL: pinned, because
    // databases keep it.
    assert_eq!(bytes[9 * 17], 17);
    assert_eq!(Stage::ALL[17], Stage::Withdrawn);
    assert_eq!(decode_stage_log(&bytes), Some(events));
    assert_eq!(decode_stage_log(&bytes[1..]), None);
    assert_eq!(decode_stage_log(&[200, 0, 0, 0, 0, 0, 0, 0, 0]), None);
}

fn stage_change(doc: &mut DossierDoc, stage: Stage, at: i64) -> Vec<u8> {
    let before = doc.heads();
    doc.record_stage(NewStage {
        stage,
        at,
        user: "s".into(),
        device: "d".into(),
        unit: unit("X0101"),
        note: String::new(),
    })
    .unwrap();
    doc.automerge().save_after(&before)
}

#[test]
fn pushes_committed_in_one_transaction_keep_their_own_outcomes() {
    use super::StoreError;
    use super::committer::Request;
    use client_core::sync::protocol::Refusal;

    let dir = tempfile::tempdir().unwrap();
    let actor = ActorId::from(vec![1u8; 16]);
    let dev = device(&actor);
    let (a, b, c) = (DocId::random(), DocId::random(), DocId::random());
    let mut doc_a = dossier_numbered(&actor, 1);
    let mut doc_b = dossier_numbered(&actor, 2);
    {
        let store = store(dir.path());
        push(&store, &dev, a, doc_a.save());
        push(&store, &dev, b, doc_b.save());
        // A's stored copy is damaged on disk; a fresh store must load it.
        store
            .write(|tx| {
                tx.execute(
                    "UPDATE documents SET snapshot = x'00ff00ff' WHERE doc_id = ?1",
                    [a.as_bytes()],
                )?;
                Ok(())
            })
            .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let seq_before = store.current_seq().unwrap();
    // B is cached as it was before the batch.
    assert!(store.load_doc(&b).unwrap().is_some());

    let a_change = stage_change(&mut doc_a, Stage::HandedOver, T0 + 1);
    // Two pushes of the same document in one transaction: the second builds
    // on the first, which only the batch has seen so far.
    let b_first = stage_change(&mut doc_b, Stage::HandedOver, T0 + 1);
    let b_second = stage_change(&mut doc_b, Stage::Assigned, T0 + 2);
    let mut forged = doc_b.clone();
    forged.set_actor(ActorId::from(vec![9u8; 16]));
    let forged_change = stage_change(&mut forged, Stage::Processing, T0 + 3);
    let doc_c = dossier_numbered(&actor, 3);
    // Written before the push fails on A: rolled back with it.
    let doc_d = dossier_numbered(&actor, 4);

    let pushes = [
        vec![(DocId::random(), doc_d.save()), (a, a_change)],
        vec![(b, b_first)],
        vec![(b, b_second)],
        vec![(b, forged_change)],
        vec![(c, doc_c.save())],
    ];
    let mut answers = Vec::new();
    let batch = pushes
        .into_iter()
        .enumerate()
        .map(|(i, docs)| {
            let docs = docs
                .into_iter()
                .map(|(doc, bytes)| DocChanges { doc, bytes })
                .collect();
            let (request, answer) = Request::new(
                dev.clone(),
                Push {
                    batch: i as u64,
                    docs,
                },
            );
            answers.push(answer);
            request
        })
        .collect();
    let done = store.commit_batch(batch);
    assert_eq!(done.len(), 5);
    let outcome = |i: usize| match &done[i].1 {
        Ok(pushed) => pushed.results[0].outcome.clone(),
        Err(e) => panic!("push {i} failed: {e}"),
    };
    assert!(
        matches!(&done[0].1, Err(StoreError::Corrupt { .. })),
        "{:?}",
        done[0].1.as_ref().map(|p| &p.results)
    );
    assert!(matches!(outcome(1), DocOutcome::Accepted { .. }));
    assert!(matches!(outcome(2), DocOutcome::Accepted { .. }));
    assert!(
        matches!(
            outcome(3),
            DocOutcome::Refused {
                reason: Refusal::ForeignActor,
                ..
            }
        ),
        "{:?}",
        outcome(3)
    );
    assert!(matches!(outcome(4), DocOutcome::Accepted { .. }));
    assert_eq!(
        store.group_commits(),
        super::GroupCommits {
            commits: 1,
            pushes: 5
        }
    );
    drop(done);
    drop(store);

    // What the transaction committed is on disk; the failed push left nothing.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.current_seq().unwrap(), seq_before + 3);
    assert_eq!(
        index_stage(&store, "X0101-261128-0001").as_deref(),
        Some("received")
    );
    assert_eq!(
        index_stage(&store, "X0101-261128-0002").as_deref(),
        Some("assigned")
    );
    assert_eq!(
        index_stage(&store, "X0101-261128-0003").as_deref(),
        Some("received")
    );
    assert_eq!(store.dossier_count().unwrap(), 3);
    assert_eq!(store.quarantine_count().unwrap(), 1);
    let heads = store.document_heads().unwrap();
    let (_, _, stored_b) = heads.iter().find(|(id, _, _)| *id == b).unwrap();
    let mut expected: Vec<String> = doc_b.heads().iter().map(|h| hex::encode(h.0)).collect();
    expected.sort();
    assert_eq!(stored_b, &expected);
}

#[test]
fn pushes_from_many_threads_are_all_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let actor = ActorId::from(vec![1u8; 16]);
    let dev = device(&actor);
    let threads: Vec<_> = (1..=40u16)
        .map(|n| {
            let (store, dev, actor) = (store.clone(), dev.clone(), actor.clone());
            std::thread::spawn(move || {
                let doc = dossier_numbered(&actor, n);
                push(&store, &dev, DocId::random(), doc.save())
            })
        })
        .collect();
    for t in threads {
        assert!(matches!(t.join().unwrap(), DocOutcome::Accepted { .. }));
    }
    let stats = store.group_commits();
    assert_eq!(stats.pushes, 40);
    assert!(stats.commits >= 1 && stats.commits <= 40, "{stats:?}");
    drop(store);
    assert_eq!(
        Store::open(dir.path()).unwrap().dossier_count().unwrap(),
        40
    );
}

#[test]
fn a_catch_up_over_many_pages_brings_every_document_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (store, actor, dev, other) = store_with_two_devices(dir.path());
    // X is received first, Y after it, then X moves on: X's last change is
    // after Y's, so a page that ends at Y does not hold X.
    let (x, y) = (DocId::random(), DocId::random());
    let mut doc_x = dossier_numbered(&actor, 1);
    push(&store, &dev, x, doc_x.save());
    push(&store, &dev, y, dossier_numbered(&actor, 2).save());
    let x_later = stage_change(&mut doc_x, Stage::HandedOver, T0 + 1);
    push(&store, &dev, x, x_later);

    let mut session = store.clone();
    let mut replicas: std::collections::BTreeMap<DocId, Automerge> = Default::default();
    let mut after = 0;
    let mut pages = 0;
    loop {
        // The smallest pages there are: one document each.
        let page =
            client_core::sync::hub::HubStore::changes_since(&mut session, &other, 0, after, 1)
                .unwrap();
        pages += 1;
        for d in page.docs {
            let doc = replicas.entry(d.doc).or_default();
            doc.load_incremental(&d.bytes).unwrap();
        }
        after = page.upto;
        if page.done {
            break;
        }
    }
    assert!(pages >= 2, "{pages} page");
    use automerge::ReadDoc;
    let x_there = &replicas[&x];
    assert!(
        x_there.get_missing_deps(&[]).is_empty(),
        "X came incomplete"
    );
    assert_eq!(sorted(x_there.get_heads()), sorted(doc_x.heads()));
}

#[test]
fn list_rows_read_back_typed_and_are_sent_as_plain_strings_and_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let actor = ActorId::from(vec![1u8; 16]);
    let dev = device(&actor);
    let id = DocId::random();
    push(&store, &dev, id, new_dossier(&actor).save());
    let page = store
        .list_dossiers(
            &BTreeSet::from([unit("X0101")]),
            &super::index::DossierFilter::default(),
            T0,
        )
        .unwrap();
    let row = &page.items[0];
    assert_eq!(row.doc_id, id);
    assert_eq!(row.stage, Some(Stage::Received));
    assert_eq!(row.outcome, super::index::OutcomeKind::Open);

    let json = serde_json::to_value(row).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    let mut expected = [
        "doc_id",
        "code",
        "unit",
        "field",
        "procedure_id",
        "procedure_name",
        "channel",
        "stage",
        "status",
        "status_name",
        "applicant_name",
        "received_by",
        "received_at",
        "due_at",
        "effective_due_at",
        "clock_stopped",
        "finished_at",
        "outcome",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(json["doc_id"], id.to_string());
    assert_eq!(json["code"], "X0101-261128-0001");
    assert_eq!(json["unit"], "X0101");
    assert_eq!(json["channel"], "direct");
    assert_eq!(json["stage"], "received");
    assert_eq!(json["status"], 2);
    assert_eq!(json["outcome"], "open");
    assert_eq!(json["finished_at"], serde_json::Value::Null);
    assert!(json["received_at"].is_i64() && json["due_at"].is_i64());
}

#[test]
fn configuration_is_read_only_to_devices_and_a_dossier_is_not_published_as_configuration() {
    use automerge::transaction::Transactable;
    use client_core::sync::protocol::Refusal;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let actor = ActorId::from(vec![1u8; 16]);
    let dev = device(&actor);

    let config = DocId::random();
    store
        .publish_config(config, |doc| {
            let mut tx = doc.transaction();
            tx.put(automerge::ROOT, "note", "from the hub")
                .map_err(|e| super::StoreError::Invalid(e.to_string()))?;
            tx.commit();
            Ok(())
        })
        .unwrap();
    let mut edit = Automerge::new().with_actor(actor.clone());
    let mut tx = edit.transaction();
    tx.put(automerge::ROOT, "note", "from a device").unwrap();
    tx.commit();
    let outcome = push(&store, &dev, config, edit.save());
    assert!(
        matches!(
            outcome,
            DocOutcome::Refused {
                reason: Refusal::ReadOnly,
                ..
            }
        ),
        "{outcome:?}"
    );

    let dossier = DocId::random();
    push(&store, &dev, dossier, new_dossier(&actor).save());
    let refused = store.publish_config(dossier, |_| Ok(()));
    assert!(
        matches!(refused, Err(super::StoreError::NotConfiguration(id)) if id == dossier),
        "{refused:?}"
    );
}

#[test]
fn a_list_row_whose_stage_does_not_parse_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let actor = ActorId::from(vec![1u8; 16]);
    push(
        &store,
        &device(&actor),
        DocId::random(),
        new_dossier(&actor).save(),
    );
    store
        .write(|tx| Ok(tx.execute("UPDATE dossiers SET stage = 'lost'", [])?))
        .unwrap();
    let listed = store.list_dossiers(
        &BTreeSet::from([unit("X0101")]),
        &super::index::DossierFilter::default(),
        T0,
    );
    let message = listed.unwrap_err().to_string();
    assert!(message.contains("'lost' is not a stage"), "{message}");
}
