//! Vietnamese text normalisation and matching.
