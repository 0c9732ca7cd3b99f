//! The device and hub engines talking to each other in memory: the
//! [`MemoryHub`] store, devices on [`MemoryStorage`], and a pump that carries
//! frames and can cut the connection anywhere.

use std::collections::BTreeMap;

use automerge::{ActorId, ChangeHash};

use super::device::{DeviceConfig, DeviceEvent, DeviceSync, SyncError, Timers};
use super::hub::HubSession;
use super::protocol::*;
use super::replica::{DeviceReplica, MemoryStorage, SyncReplica};
use super::testing::MemoryHub;
use crate::dossier::*;
use crate::ids::{DocId, UnitCode};
use crate::stage::Stage;
use crate::testing::DossierFixture;

const T0: i64 = 1_795_831_200_000; // 2026-11-28T08:00:00+07:00

fn unit(code: &str) -> UnitCode {
    UnitCode::parse(code).unwrap()
}

struct Device {
    replica: DeviceReplica<MemoryStorage>,
    engine: DeviceSync,
    actor: ActorId,
    unit: UnitCode,
    events: Vec<DeviceEvent>,
}

impl Device {
    fn new(token: &str, unit_code: &str, actor_byte: u8, hub: &mut MemoryHub) -> Self {
        let actor = ActorId::from(vec![actor_byte; 16]);
        hub.enrol(token, unit(unit_code), &actor);
        Self {
            replica: DeviceReplica::open(MemoryStorage::new(), actor.clone()).unwrap(),
            engine: DeviceSync::new(DeviceConfig {
                token: token.to_string(),
                actors: vec![actor.to_bytes().to_vec()],
                agent: "test".into(),
            }),
            actor,
            unit: unit(unit_code),
            events: Vec::new(),
        }
    }

    /// Receives a dossier offline; returns its document id.
    fn receive(&mut self, number: u16, name: &str) -> DocId {
        let doc = DossierFixture::new(self.unit.as_str(), number)
            .applicant(name, None, "Xã Tân Phong")
            .received_by("clerk", "d")
            .doc(&self.actor);
        let id = DocId::random();
        self.replica.insert_new(id, &doc).unwrap();
        id
    }

    fn stage(&mut self, id: &DocId, stage: Stage, at: i64) {
        let unit = self.unit.clone();
        self.replica
            .update(id, |doc| {
                doc.record_stage(NewStage {
                    stage,
                    at,
                    user: "u".into(),
                    device: "d".into(),
                    unit,
                    note: String::new(),
                })
            })
            .unwrap();
    }

    fn heads(&mut self) -> BTreeMap<DocId, Vec<ChangeHash>> {
        let mut out = BTreeMap::new();
        for item in self.replica.items().unwrap() {
            let mut h = self.replica.heads(&item.0).unwrap();
            h.sort();
            out.insert(item.0, h);
        }
        out
    }
}

/// Carries frames between a device and a hub until both are quiet or
/// `cut_after` frames were delivered. Returns the number of frames carried.
fn pump(
    device: &mut Device,
    hub: &mut MemoryHub,
    sessions: &mut [(usize, HubSession)],
    me: usize,
    cut_after: Option<usize>,
) -> usize {
    let mut session = HubSession::new();
    device.engine.start(&mut device.replica).unwrap();
    let mut delivered = 0;
    loop {
        let mut progressed = false;
        while let Some(frame) = device.engine.poll_transmit() {
            if cut_after.is_some_and(|c| delivered >= c) {
                device.engine.disconnected();
                return delivered;
            }
            delivered += 1;
            session.handle_frame(&frame, hub).unwrap();
            progressed = true;
        }
        while session.poll_catchup(hub).unwrap() {}
        while let Some(event) = session.poll_event() {
            if let super::hub::HubEvent::Committed(commits) = event {
                for (_, other) in sessions.iter_mut().filter(|(id, _)| *id != me) {
                    for c in &commits {
                        other.on_committed(c);
                    }
                }
            }
        }
        while let Some(frame) = session.poll_transmit() {
            if cut_after.is_some_and(|c| delivered >= c) {
                device.engine.disconnected();
                return delivered;
            }
            delivered += 1;
            if device
                .engine
                .handle_frame(&frame, &mut device.replica)
                .is_err()
            {
                device
                    .events
                    .extend(std::iter::from_fn(|| device.engine.poll_event()));
                device.engine.disconnected();
                return delivered;
            }
            progressed = true;
        }
        while let Some(e) = device.engine.poll_event() {
            device.events.push(e);
        }
        if !progressed {
            return delivered;
        }
    }
}

fn sync(device: &mut Device, hub: &mut MemoryHub) -> usize {
    pump(device, hub, &mut [], 0, None)
}

#[test]
fn two_offline_devices_converge_through_the_hub() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    let mut b = Device::new("b", "26734", 2, &mut hub);
    let d1 = a.receive(1, "Nguyễn Văn An");
    a.stage(&d1, Stage::Processing, T0 + 1000);
    let d2 = b.receive(101, "Trần Thị Bình");

    sync(&mut a, &mut hub);
    sync(&mut b, &mut hub);
    // b now has d1; it records a stage on it offline while a does too.
    b.stage(&d1, Stage::Done, T0 + 3000);
    a.stage(&d1, Stage::Reviewed, T0 + 2000);
    sync(&mut a, &mut hub);
    sync(&mut b, &mut hub);
    sync(&mut a, &mut hub);

    assert_eq!(a.heads(), b.heads());
    assert_eq!(a.heads().len(), 2);
    assert!(a.engine.is_in_sync() && b.engine.is_in_sync());
    assert_eq!(a.replica.pending_count(), 0);
    for id in [d1, d2] {
        let da = a.replica.doc(&id).unwrap().read().unwrap();
        let db = b.replica.doc(&id).unwrap().read().unwrap();
        assert_eq!(da, db);
    }
    let status = a.replica.doc(&d1).unwrap().progress().unwrap().current;
    assert_eq!(status, Some(Stage::Done));
}

#[test]
fn an_idle_reconnect_costs_two_round_trips_and_little_traffic_whatever_the_count() {
    let mut costs = Vec::new();
    for n in [10u16, 300] {
        let mut hub = MemoryHub::new();
        let mut a = Device::new("a", "26734", 1, &mut hub);
        for i in 0..n {
            a.receive(i % 99 + 1 + (i / 99) * 100, "Lê Văn Cường");
        }
        sync(&mut a, &mut hub);
        let mut fresh = Device::new("f", "26734", 3, &mut hub);
        sync(&mut fresh, &mut hub);
        assert_eq!(fresh.heads(), a.heads());
        let before = fresh.engine.stats();
        sync(&mut fresh, &mut hub);
        let after = fresh.engine.stats();
        costs.push((
            after.round_trips - before.round_trips,
            (after.bytes_sent + after.bytes_received) - (before.bytes_sent + before.bytes_received),
        ));
    }
    // The same round trips; bytes differ only by the width of the checkpoint.
    assert_eq!(costs[0].0, costs[1].0, "{costs:?}");
    assert!(costs[0].0 <= 2, "{costs:?}");
    assert!(
        costs[1].1.abs_diff(costs[0].1) <= 8,
        "idle reconnect bytes grew with the count: {costs:?}"
    );
    assert!(costs[1].1 < 400, "{costs:?}");
}

#[test]
fn an_exchange_cut_at_any_frame_resumes_and_converges() {
    for cut in 0..12 {
        let mut hub = MemoryHub::new();
        let mut a = Device::new("a", "26734", 1, &mut hub);
        let mut b = Device::new("b", "26734", 2, &mut hub);
        for i in 1..=5 {
            a.receive(i, "Phạm Minh Đức");
        }
        b.receive(101, "Hoàng Thị Em");
        sync(&mut b, &mut hub);
        pump(&mut a, &mut hub, &mut [], 0, Some(cut));
        pump(&mut b, &mut hub, &mut [], 0, Some(cut));
        sync(&mut a, &mut hub);
        sync(&mut b, &mut hub);
        sync(&mut a, &mut hub);
        assert_eq!(a.heads(), b.heads(), "cut after {cut} frames");
        assert_eq!(a.heads().len(), 6);
        assert_eq!(a.replica.pending_count() + b.replica.pending_count(), 0);
    }
}

#[test]
fn a_change_signed_by_another_actor_is_refused_and_kept_on_the_device() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    let id = a.receive(1, "Đỗ Văn Giang");
    // Changes written under an actor that is not bound to device a.
    a.replica = DeviceReplica::open(
        std::mem::take(a.replica.storage_mut()),
        ActorId::from(vec![9u8; 16]),
    )
    .unwrap();
    a.stage(&id, Stage::Processing, T0 + 1);
    a.replica =
        DeviceReplica::open(std::mem::take(a.replica.storage_mut()), a.actor.clone()).unwrap();
    sync(&mut a, &mut hub);
    assert!(a.events.iter().any(|e| matches!(
        e,
        DeviceEvent::Refused {
            reason: Refusal::ForeignActor,
            ..
        }
    )));
    assert_eq!(hub.quarantine, vec![(id, Refusal::ForeignActor)]);
    assert!(hub.docs.is_empty());
    assert!(a.replica.meta(&id).unwrap().refused.is_some());
}

#[test]
fn another_communes_dossier_is_never_sent_and_cannot_be_written() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    let mut b = Device::new("b", "26737", 2, &mut hub);
    let secret = b.receive(1, "Vũ Thị Hoa");
    sync(&mut b, &mut hub);
    sync(&mut a, &mut hub);
    assert!(a.heads().is_empty());

    // Device a forges a document of commune 26737 from scratch.
    let mut forged = Device::new("x", "26737", 1, &mut MemoryHub::new());
    let forged_id = forged.receive(2, "Giả mạo");
    let bytes = forged.replica.doc(&forged_id).unwrap().save();
    let mut session = HubSession::new();
    let hello = Message::Hello(Hello {
        token: "a".into(),
        since: None,
        actors: vec![],
        agent: "t".into(),
    });
    session.handle_frame(&hello.encode(), &mut hub).unwrap();
    let push = |doc| {
        Message::Push(Push {
            batch: 1,
            docs: vec![DocChanges {
                doc,
                bytes: bytes.clone(),
            }],
        })
        .encode()
    };
    session.handle_frame(&push(forged_id), &mut hub).unwrap();
    session.handle_frame(&push(secret), &mut hub).unwrap();
    let refusals: Vec<(Refusal, String)> = std::iter::from_fn(|| session.poll_transmit())
        .filter_map(|f| match Message::decode(&f).unwrap() {
            Message::Ack(ack) => Some(ack.results),
            _ => None,
        })
        .flatten()
        .map(|r| match r.outcome {
            DocOutcome::Refused { reason, message } => (reason, message),
            DocOutcome::Accepted { .. } => panic!("accepted a forged document"),
        })
        .collect();
    // The existing document and the unknown one get the very same answer.
    assert_eq!(refusals.len(), 2);
    assert_eq!(refusals[0], refusals[1]);
    assert_eq!(refusals[0].0, Refusal::NotFound);
}

/// Carries frames both ways on an already open connection until it is quiet.
fn exchange(device: &mut Device, session: &mut HubSession, hub: &mut MemoryHub) {
    loop {
        let mut progressed = false;
        while let Some(f) = device.engine.poll_transmit() {
            session.handle_frame(&f, hub).unwrap();
            progressed = true;
        }
        while session.poll_catchup(hub).unwrap() {}
        while let Some(f) = session.poll_transmit() {
            device.engine.handle_frame(&f, &mut device.replica).unwrap();
            progressed = true;
        }
        while let Some(e) = device.engine.poll_event() {
            device.events.push(e);
        }
        if !progressed {
            return;
        }
    }
}

#[test]
fn live_changes_reach_the_other_connected_device_without_polling() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    let mut b = Device::new("b", "26734", 2, &mut hub);
    let mut b_session = HubSession::new();
    // b connects and goes live.
    b.engine.start(&mut b.replica).unwrap();
    exchange(&mut b, &mut b_session, &mut hub);
    assert!(b.engine.is_in_sync());

    let id = a.receive(1, "Bùi Văn Khánh");
    let mut sessions = vec![(1, b_session)];
    pump(&mut a, &mut hub, &mut sessions, 0, None);
    let (_, mut b_session) = sessions.pop().unwrap();
    let mut got = false;
    while let Some(f) = b_session.poll_transmit() {
        b.engine.handle_frame(&f, &mut b.replica).unwrap();
        got = true;
    }
    assert!(got, "the hub pushed nothing to the live device");
    assert_eq!(b.heads(), a.heads());
    assert!(b.replica.meta(&id).is_some());
}

#[test]
fn a_live_change_the_link_lost_is_repaired_by_the_next_verification() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    let mut b = Device::new("b", "26734", 2, &mut hub);
    let mut b_session = HubSession::new();
    b.engine.start(&mut b.replica).unwrap();
    exchange(&mut b, &mut b_session, &mut hub);
    assert!(b.engine.is_in_sync());

    // a records a dossier; the hub's live frame to b is lost on the way.
    a.receive(1, "Lò Văn Páo");
    let mut sessions = vec![(1, b_session)];
    pump(&mut a, &mut hub, &mut sessions, 0, None);
    let (_, mut b_session) = sessions.pop().unwrap();
    assert!(b_session.poll_transmit().is_some(), "nothing was sent live");
    assert!(b_session.poll_transmit().is_none());
    assert_ne!(b.heads(), a.heads());
    // The connection stayed up, so b still believes it is in sync ...
    assert!(b.engine.is_in_sync());

    // ... until the driver's periodic check, which finds and repairs it.
    b.engine.verify(&mut b.replica).unwrap();
    assert!(!b.engine.is_in_sync());
    exchange(&mut b, &mut b_session, &mut hub);
    assert!(b.engine.is_in_sync());
    assert_eq!(b.heads(), a.heads());
    assert!(
        b.events
            .iter()
            .any(|e| matches!(e, DeviceEvent::InSync { repaired: 1 }))
    );

    // When nothing differs, a check is one request and one answer.
    let sent = b.engine.stats().frames_sent;
    b.engine.verify(&mut b.replica).unwrap();
    exchange(&mut b, &mut b_session, &mut hub);
    assert!(b.engine.is_in_sync());
    assert_eq!(b.engine.stats().frames_sent, sent + 1);
}

#[test]
fn anti_entropy_repairs_a_device_whose_checkpoint_lies() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    let mut b = Device::new("b", "26734", 2, &mut hub);
    for i in 1..=3 {
        a.receive(i, "Đặng Thị Lan");
    }
    sync(&mut a, &mut hub);
    // b claims to have everything up to the hub's latest change.
    b.replica
        .apply_from_hub(
            &[],
            Some(Checkpoint {
                hub: HubId([42; 16]),
                seq: hub.seq,
            }),
        )
        .unwrap();
    sync(&mut b, &mut hub);
    assert_eq!(b.heads(), a.heads());
    assert!(
        b.events
            .iter()
            .any(|e| matches!(e, DeviceEvent::InSync { repaired: 3 }))
    );
}

#[test]
fn a_hub_restored_without_a_dossier_gets_it_whole_from_the_device() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    let id = a.receive(1, "Trần Văn Bình");
    a.stage(&id, Stage::Processing, T0 + 1000);
    sync(&mut a, &mut hub);
    assert_eq!(a.replica.pending_count(), 0);

    // The hub comes back from a backup taken before the dossier: a new hub
    // id, and nothing of the dossier. The repair answers with empty heads.
    let mut restored = MemoryHub::new();
    restored.hub = [7; 16];
    restored.enrol("a", unit("26734"), &a.actor.clone());
    sync(&mut a, &mut restored);

    let mut at_hub = restored.docs[&id].doc.get_heads();
    at_hub.sort();
    assert_eq!(a.heads()[&id], at_hub);
    assert_eq!(a.replica.pending_count(), 0);
}

#[test]
fn a_wrong_token_is_refused_with_a_clear_error() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    a.engine = DeviceSync::new(DeviceConfig {
        token: "nope".into(),
        actors: vec![],
        agent: "t".into(),
    });
    sync(&mut a, &mut hub);
    assert!(
        a.events
            .iter()
            .any(|e| matches!(e, DeviceEvent::HubError(m) if m.code == ErrorCode::Unauthorized))
    );
    assert!(!a.engine.is_connected());
}

#[test]
fn a_session_whose_live_feed_lagged_catches_up_and_goes_live_again() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    let mut b = Device::new("b", "26734", 2, &mut hub);
    let mut b_session = HubSession::new();
    b.engine.start(&mut b.replica).unwrap();
    while let Some(f) = b.engine.poll_transmit() {
        b_session.handle_frame(&f, &mut hub).unwrap();
    }
    while b_session.poll_catchup(&mut hub).unwrap() {}
    assert!(!b_session.is_catching_up());

    // b's connection missed live commits (its feed overflowed) while a
    // pushed a dossier.
    a.receive(1, "Lý Thị Ngọc");
    sync(&mut a, &mut hub);
    b_session.on_lagged();
    let mut polls = 0;
    while b_session.poll_catchup(&mut hub).unwrap() {
        polls += 1;
        assert!(polls < 10, "the catch-up after a lag never ends");
    }
    while let Some(f) = b_session.poll_transmit() {
        b.engine.handle_frame(&f, &mut b.replica).unwrap();
    }
    assert_eq!(b.heads(), a.heads());

    // Live again: the next commit is forwarded without polling.
    let second = a.receive(2, "Lý Văn Phúc");
    let mut sessions = vec![(1, b_session)];
    pump(&mut a, &mut hub, &mut sessions, 0, None);
    let (_, mut b_session) = sessions.pop().unwrap();
    while let Some(f) = b_session.poll_transmit() {
        b.engine.handle_frame(&f, &mut b.replica).unwrap();
    }
    assert!(
        b.replica.meta(&second).is_some(),
        "live changes stopped after the lag"
    );
}

#[test]
fn a_replica_that_keeps_one_document_loaded_still_syncs_every_document() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    let mut b = Device::new("b", "26734", 2, &mut hub);
    a.replica.set_cache_limit(1);
    b.replica.set_cache_limit(1);
    let docs: Vec<DocId> = (1..=5).map(|n| a.receive(n, "Lê Văn Hải")).collect();
    for (i, id) in docs.iter().enumerate() {
        a.stage(id, Stage::Processing, T0 + 1000 + i as i64);
    }
    sync(&mut a, &mut hub);
    sync(&mut b, &mut hub);

    assert_eq!(a.heads(), b.heads());
    assert_eq!(b.heads().len(), 5);
    for id in &docs {
        let current = b.replica.doc(id).unwrap().progress().unwrap().current;
        assert_eq!(current, Some(Stage::Processing));
    }
}

#[test]
fn documents_received_from_the_hub_reload_from_storage_as_they_were() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    let mut b = Device::new("b", "26734", 2, &mut hub);
    let docs: Vec<DocId> = (1..=3).map(|n| a.receive(n, "Đỗ Thị Mai")).collect();
    a.stage(&docs[0], Stage::Processing, T0 + 1000);
    sync(&mut a, &mut hub);
    sync(&mut b, &mut hub);
    // A later stage reaches b as an append to what it stored first.
    a.stage(&docs[0], Stage::Reviewed, T0 + 2000);
    sync(&mut a, &mut hub);
    sync(&mut b, &mut hub);
    let heads = b.heads();
    assert_eq!(heads, a.heads());

    let storage = std::mem::take(b.replica.storage_mut());
    let mut reopened = DeviceReplica::open(storage, b.actor.clone()).unwrap();
    for (id, expected) in &heads {
        let doc = reopened.doc(id).unwrap();
        let mut loaded = doc.heads();
        loaded.sort();
        assert_eq!(&loaded, expected, "{id}");
        assert_eq!(
            doc.read().unwrap(),
            a.replica.doc(id).unwrap().read().unwrap()
        );
    }
    let current = reopened.doc(&docs[0]).unwrap().progress().unwrap().current;
    assert_eq!(current, Some(Stage::Reviewed));
}

#[test]
fn a_session_reports_each_acknowledged_push_and_the_size_of_its_catch_up() {
    use super::hub::HubEvent;
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    let mut b = Device::new("b", "26734", 2, &mut hub);
    a.receive(1, "Nguyễn Văn An");
    a.receive(2, "Trần Thị Bình");
    sync(&mut a, &mut hub);

    // b pushes one dossier and catches up on a's two.
    b.receive(101, "Lê Thị Cúc");
    let mut session = HubSession::new();
    b.engine.start(&mut b.replica).unwrap();
    exchange(&mut b, &mut session, &mut hub);
    let events: Vec<HubEvent> = std::iter::from_fn(|| session.poll_event()).collect();
    let acknowledged: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            HubEvent::Acknowledged { documents } => Some(*documents),
            _ => None,
        })
        .collect();
    assert_eq!(acknowledged, vec![1]);
    let caught_up: Vec<(usize, usize)> = events
        .iter()
        .filter_map(|e| match e {
            HubEvent::CaughtUp { documents, bytes } => Some((*documents, *bytes)),
            _ => None,
        })
        .collect();
    assert_eq!(caught_up.len(), 1, "{events:?}");
    let (documents, bytes) = caught_up[0];
    // b's own dossier is not sent back to it.
    assert_eq!(documents, 2);
    assert!(bytes > 0);
}

const SHORT: Timers = Timers {
    stall_after: 5_000,
    verify_every: 60_000,
};

#[test]
fn an_answer_unheard_for_the_stall_time_fails_the_connection() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    a.engine.set_timers(SHORT);
    a.engine.advance(1_000);
    a.engine.start(&mut a.replica).unwrap();
    // The hello is lost on the way: nothing comes back.
    while a.engine.poll_transmit().is_some() {}
    assert_eq!(a.engine.poll_timeout(), Some(6_000));

    a.engine.handle_timeout(5_999, &mut a.replica).unwrap();
    assert!(a.engine.is_connected());
    let error = a.engine.handle_timeout(6_000, &mut a.replica).unwrap_err();

    assert!(matches!(error, SyncError::Stalled(5_000)), "{error}");
    assert!(!a.engine.is_connected());
    assert_eq!(a.engine.poll_timeout(), None);
}

#[test]
fn a_frame_from_the_hub_starts_the_stall_time_again() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    a.receive(1, "Phạm Thị Hoa");
    a.engine.set_timers(SHORT);
    a.engine.start(&mut a.replica).unwrap();
    // Only the hello arrives; the push is still awaited.
    let hello = a.engine.poll_transmit().unwrap();
    let mut session = HubSession::new();
    session.handle_frame(&hello, &mut hub).unwrap();
    let welcome = session.poll_transmit().unwrap();

    a.engine.advance(4_000);
    a.engine.handle_frame(&welcome, &mut a.replica).unwrap();

    assert!(a.engine.is_waiting());
    assert_eq!(a.engine.poll_timeout(), Some(9_000));
    a.engine.handle_timeout(8_999, &mut a.replica).unwrap();
    assert!(a.engine.is_connected());
    assert!(a.engine.handle_timeout(9_000, &mut a.replica).is_err());
}

#[test]
fn a_live_connection_verifies_once_the_interval_has_passed() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    a.receive(1, "Vũ Văn Nam");
    a.engine.set_timers(SHORT);
    a.engine.advance(10_000);
    a.engine.start(&mut a.replica).unwrap();
    let mut session = HubSession::new();
    exchange(&mut a, &mut session, &mut hub);
    assert!(a.engine.is_in_sync());
    assert_eq!(a.engine.poll_timeout(), Some(70_000));

    a.engine.handle_timeout(69_999, &mut a.replica).unwrap();
    assert!(a.engine.poll_transmit().is_none());
    a.engine.handle_timeout(70_000, &mut a.replica).unwrap();

    // One fingerprint goes out, its answer awaited from now.
    assert!(a.engine.is_waiting());
    assert_eq!(a.engine.poll_timeout(), Some(75_000));
    a.engine.advance(71_000);
    exchange(&mut a, &mut session, &mut hub);
    assert!(a.engine.is_in_sync());
    assert_eq!(a.engine.poll_timeout(), Some(131_000));
}

#[test]
fn a_push_on_a_quiet_live_connection_is_awaited_from_when_it_leaves() {
    let mut hub = MemoryHub::new();
    let mut a = Device::new("a", "26734", 1, &mut hub);
    a.engine.set_timers(SHORT);
    a.engine.start(&mut a.replica).unwrap();
    let mut session = HubSession::new();
    exchange(&mut a, &mut session, &mut hub);
    assert!(a.engine.is_in_sync());

    a.engine.advance(30_000);
    a.receive(1, "Hoàng Thị Thu");
    a.engine.local_changes(&mut a.replica).unwrap();
    a.engine.advance(40_000);

    assert!(a.engine.is_waiting());
    assert_eq!(a.engine.poll_timeout(), Some(45_000));
    a.engine.handle_timeout(44_999, &mut a.replica).unwrap();
    assert!(a.engine.is_connected());
}
