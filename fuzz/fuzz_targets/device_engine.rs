//! The device engine over a memory replica, fed any sequence of frames (raw
//! bytes, built messages, damaged messages) with reconnects and local edits
//! in between: never panics, and every frame it sends decodes.
#![no_main]

use client_core::dossier::DossierDoc;
use client_core::stage::Stage;
use client_core::sync::device::DeviceSync;
use client_core::sync::protocol::Message;
use libfuzzer_sys::fuzz_target;
use motcua_fuzz::{device_config, device_replica, fixtures, frame_of, next_stage, op, steps};

fuzz_target!(|data: &[u8]| {
    let f = fixtures();
    // One dossier of its own, pending, so that pushes and acks happen.
    let mut replica = device_replica();
    let mut engine = DeviceSync::new(device_config(0));
    let _ = engine.start(&mut replica);
    for (kind, payload) in steps(data) {
        match kind {
            op::RECONNECT => {
                engine.disconnected();
                let _ = engine.start(&mut replica);
            }
            op::EVENT => {
                let id =
                    f.doc_ids[usize::from(payload.first().copied().unwrap_or(0)) % f.doc_ids.len()];
                if replica.meta(&id).is_some() {
                    let _ = replica.update(&id, |doc| {
                        next_stage(doc, Stage::Processing, "X0101");
                        Ok(())
                    });
                } else if let Ok(doc) = DossierDoc::load(&f.own_docs[1]) {
                    let _ = replica.insert_new(id, &doc);
                }
                let _ = engine.local_changes(&mut replica);
            }
            _ => {
                let frame = frame_of(kind, payload);
                if engine.handle_frame(&frame, &mut replica).is_err() && payload.len() % 2 == 0 {
                    // What a driver does after an error: drop the connection.
                    engine.disconnected();
                }
            }
        }
        while let Some(frame) = engine.poll_transmit() {
            assert!(
                Message::decode(&frame).is_ok(),
                "the device sent a frame it cannot decode itself"
            );
        }
        while engine.poll_event().is_some() {}
    }
});
