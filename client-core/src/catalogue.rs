//! The procedure catalogue.
