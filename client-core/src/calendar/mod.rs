//! The working calendar.
