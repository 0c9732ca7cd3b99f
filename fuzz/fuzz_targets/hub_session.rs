//! A hub session over the memory hub store, fed any sequence of frames with
//! catch-up polls, live commits from other devices and lagging in between:
//! never panics, every frame it sends decodes, and a catch-up ends.
#![no_main]

use std::sync::Arc;

use client_core::sync::hub::{Committed, HubSession};
use client_core::sync::protocol::Message;
use libfuzzer_sys::fuzz_target;
use motcua_fuzz::{fixtures, frame_of, hub, op, steps};

fuzz_target!(|data: &[u8]| {
    let f = fixtures();
    let mut store = hub();
    let mut session = HubSession::new();
    for (kind, payload) in steps(data) {
        match kind {
            op::EVENT => {
                // Another device committed a change; as on a real hub, it
                // is in the store before it is announced.
                let pick = |i: usize| payload.get(i).copied().map_or(0, usize::from);
                let unit = (pick(1) < f.units.len()).then(|| f.units[pick(1)].clone());
                session.on_committed(&Committed {
                    seq: pick(0) as u64 % (store.seq + 1),
                    doc: f.doc_ids[pick(2) % f.doc_ids.len()],
                    unit,
                    origin: format!("dev-tok-{}", pick(3) % 4),
                    bytes: Arc::from(f.docs[pick(4) % f.docs.len()].clone()),
                });
            }
            op::LAGGED => session.on_lagged(),
            op::CATCHUP => {
                // The store is small enough for one page: a catch-up with
                // nothing new committed meanwhile must end.
                for _ in 0..8 {
                    if !session.poll_catchup(&mut store).unwrap_or(false) {
                        break;
                    }
                }
                assert!(!session.is_catching_up(), "the catch-up never ends");
            }
            op::RECONNECT => session = HubSession::new(),
            _ => {
                let _ = session.handle_frame(&frame_of(kind, payload), &mut store);
            }
        }
        while let Some(frame) = session.poll_transmit() {
            assert!(
                Message::decode(&frame).is_ok(),
                "the hub sent a frame it cannot decode itself"
            );
        }
        while session.poll_event().is_some() {}
    }
});
