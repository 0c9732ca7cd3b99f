//! The working calendar.

pub mod holidays;
pub mod lunar;
