//! `Message::decode` on any bytes: never panics, and whatever it accepts
//! encodes back to a frame that decodes to the same message. Messages built
//! from the input within the protocol's limits survive their own encoding.
#![no_main]

use arbitrary::Unstructured;
use client_core::sync::protocol::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::decode(data) {
        let again = Message::decode(&message.encode());
        assert_eq!(
            again.as_ref(),
            Ok(&message),
            "re-encoding changed the message"
        );
    }
    let mut u = Unstructured::new(data);
    if let Ok(message) = motcua_fuzz::message(&mut u) {
        let decoded = Message::decode(&message.encode());
        assert_eq!(
            decoded.as_ref(),
            Ok(&message),
            "a valid message did not survive encoding"
        );
    }
});
