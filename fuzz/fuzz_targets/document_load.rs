//! Any bytes as a dossier document: loading, reading, validating and
//! admitting them (new, and on top of a valid hub copy) never panics.
#![no_main]

use automerge::Automerge;
use client_core::dossier::DossierDoc;
use client_core::sync::hub::admit;
use libfuzzer_sys::fuzz_target;
use motcua_fuzz::{fixtures, identity};

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = DossierDoc::load(data) {
        let _ = doc.read();
        let _ = doc.progress();
        let _ = doc.conflicts();
    }
    let device = identity(0);
    let _ = admit(None, data, &device);
    if let Ok(existing) = Automerge::load(&fixtures().docs[0]) {
        let _ = admit(Some(&existing), data, &device);
    }
});
