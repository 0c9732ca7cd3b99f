//! Vietnamese text normalisation and matching.

use unicode_normalization::UnicodeNormalization;

/// NFC, trimmed, with runs of whitespace collapsed to one space.
pub fn normalize(s: &str) -> String {
    s.nfc()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
