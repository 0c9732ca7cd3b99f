//! The schema's versions and the steps between them.
//!
//! The version is SQLite's `user_version`. Migration N (in `migrations/`)
//! takes a database from version N-1 to N; all pending steps run in one
//! transaction, so an upgrade that fails leaves the database as it was.
//! Migration 1 is the first released schema exactly as it shipped; every
//! later change to the schema is a new migration, never an edit of an old
//! one. `schema.sql` shows where they end.
//!
//! Both kept migration libraries pin an older rusqlite than the hub's 0.43
//! (rusqlite_migration 2.6 needs 0.40, refinery 0.10 at most 0.41) and
//! SQLite's native library can be linked only once, so this is the same
//! `user_version` scheme as rusqlite_migration's, in a few lines.
//!
//! Databases written before the schema was versioned have version 0 and
//! tables: [`adopt`] finds which released layout they have.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_first_release.sql"),
    include_str!("migrations/002_uplink.sql"),
    include_str!("migrations/003_report_columns.sql"),
    include_str!("migrations/004_report_facts.sql"),
];

/// The schema version this binary writes; a database of a newer one is
/// refused (see [`StoreError::NewerSchema`]).
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The schema version of the database `conn` is open on.
pub fn schema_version(conn: &Connection) -> Result<u32> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Brings the database to [`SCHEMA_VERSION`]; returns the version it had.
pub(super) fn migrate(conn: &mut Connection) -> Result<u32> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Brings the database to `target` (tests build older databases with it).
pub(super) fn migrate_to(conn: &mut Connection, target: u32) -> Result<u32> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = schema_version(&tx)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            known: SCHEMA_VERSION,
        });
    }
    let from = if found == 0 && has_table(&tx, "meta")? {
        adopt(&tx)?
    } else {
        found
    };
    for version in from + 1..=target {
        tx.execute_batch(MIGRATIONS[version as usize - 1])
            .map_err(|source| StoreError::Migration { version, source })?;
    }
    if target > found {
        tx.pragma_update(None, "user_version", target)?;
        tx.commit()?;
        if found > 0 || from > 0 {
            tracing::info!("database schema upgraded from version {from} to {target}");
        }
    }
    Ok(from)
}

/// The version of a database written before versions were recorded.
///
/// Releases before then created missing tables on opening and added the
/// index columns of their own release, but never the other columns, so a
/// database can hold pieces of several layouts. What tells them apart: the
/// uplink columns arrived with schema 2 and were never added afterwards;
/// everything newer is index data, rebuilt from the documents. So a
/// database that is not exactly schema 4 is taken back to 1 or 2 by
/// dropping the index pieces it has beyond it, and migrated from there.
fn adopt(tx: &Transaction<'_>) -> Result<u32> {
    let has_uplink = column_names(tx, "documents")?
        .iter()
        .any(|c| c == "uplink_dirty");
    let dossier_columns = column_names(tx, "dossiers")?;
    let has = |c: &str| dossier_columns.iter().any(|d| d == c);
    if has_uplink
        && has_table(tx, "dossier_facts")?
        && has("applicant_address")
        && has("sets")
        && !has("processing_amount")
    {
        return Ok(4);
    }
    tx.execute_batch(
        "DROP TABLE IF EXISTS dossier_facts; DROP INDEX IF EXISTS dossiers_by_unit_received;",
    )?;
    for column in [
        "processing_amount",
        "processing_unit",
        "pause_rule",
        "stage_log",
        "last_stage_at",
        "applicant_address",
        "sets",
    ] {
        if has(column) {
            tx.execute_batch(&format!("ALTER TABLE dossiers DROP COLUMN {column}"))?;
        }
    }
    Ok(if has_uplink { 2 } else { 1 })
}

fn has_table(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [name],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn column_names(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt.query_map([table], |r| r.get(0))?;
    Ok(names.collect::<rusqlite::Result<_>>()?)
}
