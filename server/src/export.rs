//! The dossier export format: one JSON line per dossier, as `motcua dossier
//! export` writes it and `motcua admin seed-dossiers --export` writes what
//! it generated.

use client_core::dossier::Dossier;
use client_core::ids::DocId;

/// A dossier as one line of `motcua dossier export` (`{"doc_id", "dossier"}`,
/// every field and the stage log), which other tools read.
pub fn export_line(id: &DocId, dossier: &Dossier) -> String {
    serde_json::json!({ "doc_id": id.to_string(), "dossier": dossier }).to_string()
}
