//! Schema versions, upgrades from the first released schema, and damaged
//! database files, on real SQLite files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use automerge::ActorId;
use client_core::ids::DocId;
use client_core::sync::hub::DeviceIdentity;
use rusqlite::Connection;

use super::identity::{DeviceKind, Role};
use super::migrations::{self, SCHEMA_VERSION};
use super::tests::{province_with, unit};
use super::{DB_FILE, Store, StoreError};

/// A database written by the first released schema (schema 1, no version
/// recorded): made by `write_the_first_release_fixture` below.
const FIXTURE: &str = "src/store/fixtures/schema-1.sqlite";
const FIXTURE_CODES: [&str; 3] = [
    "X0101-261128-0001",
    "X0101-261128-0002",
    "X0101-261128-0003",
];

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE)
}

/// Every table's columns (name, type, not null, default, key position) and
/// every index (table, unique, columns), whatever the columns' order.
type Layout = BTreeMap<String, Vec<String>>;

fn layout(conn: &Connection) -> Layout {
    let mut out = Layout::new();
    let names: Vec<(String, String)> = conn
        .prepare(
            "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for (kind, name) in names {
        let mut rows: Vec<String> = match kind.as_str() {
            "table" => conn
                .prepare(
                    "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)",
                )
                .unwrap()
                .query_map([&name], |r| {
                    Ok(format!(
                        "{} {} notnull={} default={:?} pk={}",
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, i64>(4)?
                    ))
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap(),
            _ => conn
                .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                .unwrap()
                .query_map([&name], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap(),
        };
        if kind == "table" {
            rows.sort();
        }
        out.insert(format!("{kind} {name}"), rows);
    }
    out
}

/// The layout `schema.sql` describes.
fn schema_sql_layout() -> Layout {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(include_str!("schema.sql")).unwrap();
    layout(&conn)
}

fn count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn the_migrations_end_at_the_schema_that_schema_sql_describes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    drop(store);
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    assert_eq!(layout(&conn), schema_sql_layout());
}

#[test]
fn a_database_of_the_first_released_schema_is_upgraded_keeping_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DB_FILE);
    std::fs::copy(fixture_path(), &db).unwrap();
    let before = {
        let conn = Connection::open(&db).unwrap();
        assert_eq!(migrations::schema_version(&conn).unwrap(), 0);
        let tables = [
            "meta",
            "units",
            "documents",
            "changes",
            "dossiers",
            "dossier_stages",
            "users",
            "devices",
            "device_actors",
            "enrolments",
            "audit",
        ];
        let counts: Vec<(&str, i64)> = tables.iter().map(|t| (*t, count(&conn, t))).collect();
        // The fixture is what it says: no column of a later schema.
        let documents = layout(&conn)["table documents"].join(" ");
        assert!(!documents.contains("uplink_dirty"), "{documents}");
        let hub: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'hub_id'", [], |r| {
                r.get(0)
            })
            .unwrap();
        (counts, hub)
    };
    assert!(before.0.iter().all(|(_, n)| *n > 0), "{:?}", before.0);

    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    // Every table and column of today's schema.
    {
        let conn = Connection::open(&db).unwrap();
        assert_eq!(layout(&conn), schema_sql_layout());
        for (table, n) in &before.0 {
            // The index records its version, which the first release did not.
            let added = i64::from(*table == "meta");
            assert_eq!(count(&conn, table), n + added, "rows of {table}");
        }
        assert_eq!(count(&conn, "dossier_facts"), FIXTURE_CODES.len() as i64);
        let kinds: Vec<String> = conn
            .prepare("SELECT kind FROM devices")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(kinds.iter().all(|k| k == "device"), "{kinds:?}");
    }
    // The same hub, its dossiers whole and indexed, its users and devices.
    assert_eq!(hex::encode(store.hub_id().0), before.1);
    assert_eq!(store.verify_index().unwrap(), Vec::<String>::new());
    assert_eq!(
        store
            .listed_by_code(&FIXTURE_CODES)
            .unwrap()
            .iter()
            .map(|d| d.facts.code.to_string())
            .collect::<Vec<_>>(),
        FIXTURE_CODES
    );
    assert!(store.verify_login("an.nv", "mat-khau-1").unwrap().is_some());
    let devices = store.devices().unwrap();
    assert_eq!(devices.len(), 1);
    // A catch-up from nothing brings every dossier to another device.
    let dev = DeviceIdentity {
        device_id: "another-tablet".into(),
        unit: unit("X0101"),
        scope: store.scope_of(&unit("X0101")),
        actors: Default::default(),
        code_slots: vec![0],
    };
    let page =
        client_core::sync::hub::HubStore::changes_since(&mut store.clone(), &dev, 0, 0, 1 << 20)
            .unwrap();
    assert!(page.done);
    assert_eq!(page.docs.len(), FIXTURE_CODES.len());
    // And it keeps working: a new dossier is stored and indexed.
    let actor = ActorId::from(vec![9u8; 16]);
    let mut dev = dev;
    dev.actors.insert(actor.clone());
    let doc = super::tests::dossier_numbered(&actor, 4);
    let outcome = super::tests::push(&store, &dev, DocId::random(), doc.save());
    assert!(
        matches!(
            outcome,
            client_core::sync::protocol::DocOutcome::Accepted { .. }
        ),
        "{outcome:?}"
    );
    assert_eq!(store.dossier_count().unwrap(), 4);
}

/// Releases before versioned schemas ran `schema.sql` on opening: the
/// release of schema 3 added its index columns and recorded index version
/// 2; the next one created `dossier_facts` but, finding that version, never
/// filled it. Such a database is taken back to schema 2 and migrated, and
/// its reports have every dossier again.
#[test]
fn a_database_left_by_unversioned_releases_is_upgraded_and_its_index_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DB_FILE);
    std::fs::copy(fixture_path(), &db).unwrap();
    {
        let mut conn = Connection::open(&db).unwrap();
        migrations::migrate_to(&mut conn, 3).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 0;
             INSERT INTO meta (key, value) VALUES ('index_version', '2');",
        )
        .unwrap();
        conn.execute_batch(include_str!("schema.sql")).unwrap();
        assert_eq!(count(&conn, "dossier_facts"), 0);
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.verify_index().unwrap(), Vec::<String>::new());
    drop(store);
    let conn = Connection::open(&db).unwrap();
    assert_eq!(layout(&conn), schema_sql_layout());
    assert_eq!(count(&conn, "dossier_facts"), FIXTURE_CODES.len() as i64);
}

/// A database of today's schema from before versions were recorded is
/// taken as it is.
#[test]
fn an_unversioned_database_of_todays_schema_is_adopted_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    drop(closed_store_with_dossiers(dir.path()));
    let db = dir.path().join(DB_FILE);
    let conn = Connection::open(&db).unwrap();
    conn.pragma_update(None, "user_version", 0).unwrap();
    conn.execute_batch("UPDATE dossier_facts SET open = 7")
        .unwrap();
    drop(conn);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    drop(store);
    let conn = Connection::open(&db).unwrap();
    // Not rebuilt: the marked rows are still there.
    let marked: i64 = conn
        .query_row(
            "SELECT count(*) FROM dossier_facts WHERE open = 7",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(marked, 40);
    assert_eq!(layout(&conn), schema_sql_layout());
}

#[test]
fn a_database_of_a_newer_schema_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let db = dir.path().join(DB_FILE);
    Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found, known } if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade motcua"), "{err}");
    // Left as it was.
    let conn = Connection::open(&db).unwrap();
    assert_eq!(
        migrations::schema_version(&conn).unwrap(),
        SCHEMA_VERSION + 1
    );
}

/// A closed hub database with some dossiers in it (a few dozen pages).
fn closed_store_with_dossiers(dir: &Path) -> PathBuf {
    let store = province_with(dir, &["X0101"]);
    let actor = ActorId::from(vec![1u8; 16]);
    let dev = DeviceIdentity {
        device_id: "dev-1".into(),
        unit: unit("X0101"),
        scope: store.scope_of(&unit("X0101")),
        actors: [actor.clone()].into(),
        code_slots: vec![0],
    };
    for n in 1..=40 {
        let doc = super::tests::dossier_numbered(&actor, n);
        super::tests::push(&store, &dev, DocId::random(), doc.save());
    }
    drop(store);
    let db = dir.join(DB_FILE);
    // Everything in the file itself, as after a clean stop.
    let (busy, _, _): (i64, i64, i64) = Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(busy, 0);
    db
}

fn assert_refused_as_damaged(dir: &Path) {
    let db = dir.join(DB_FILE);
    let bytes = std::fs::read(&db).unwrap();
    let err = Store::open(dir).unwrap_err();
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("motcua admin restore"), "{message}");
    assert!(message.contains(&db.display().to_string()), "{message}");
    // Never half-opened: nothing was written to it.
    assert!(
        std::fs::read(&db).unwrap() == bytes,
        "the damaged file was changed"
    );
}

#[test]
fn a_truncated_database_is_refused_at_opening_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = closed_store_with_dossiers(dir.path());
    let len = std::fs::metadata(&db).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    assert_refused_as_damaged(dir.path());
    // Cut inside the header too.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(60)
        .unwrap();
    assert_refused_as_damaged(dir.path());
}

#[test]
fn a_database_with_damaged_pages_is_refused_at_opening_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = closed_store_with_dossiers(dir.path());
    let (page_size, root): (i64, i64) = {
        let conn = Connection::open(&db).unwrap();
        let page_size = conn
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .unwrap();
        let root = conn
            .query_row(
                "SELECT rootpage FROM sqlite_schema WHERE name = 'changes'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (page_size, root)
    };
    // Flip the bytes of the page header of the change table's root page.
    let mut bytes = std::fs::read(&db).unwrap();
    let at = ((root - 1) * page_size) as usize;
    for b in &mut bytes[at..at + 12] {
        *b ^= 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    assert_refused_as_damaged(dir.path());
}

/// Writes the fixture: a hub's data as the first release stored it. Run
/// with `cargo nextest run -p server --run-ignored only write_the_first_release_fixture`.
///
/// The rows are made by today's store (so documents, hashes and digests
/// are real), then copied, column by column of schema 1, into a database
/// made by migration 1 alone, with no version recorded — as the first
/// release left it.
#[test]
#[ignore = "writes the committed fixture; run by hand when it must change"]
fn write_the_first_release_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let store = province_with(dir.path(), &["X0101"]);
    store
        .create_user(
            "an.nv",
            "Nguyễn Văn An",
            "mat-khau-1",
            Role::Clerk,
            &unit("X0101"),
        )
        .unwrap();
    let enrolment = store
        .create_enrolment(
            &unit("X0101"),
            "Máy tính bảng quầy 1",
            1,
            DeviceKind::Device,
            "user:an.nv",
        )
        .unwrap();
    let actor = ActorId::from(vec![7u8; 16]);
    let enrolled = store
        .enrol(&enrolment.code, std::slice::from_ref(&actor))
        .unwrap();
    let dev = DeviceIdentity {
        device_id: enrolled.device_id.clone(),
        unit: unit("X0101"),
        scope: store.scope_of(&unit("X0101")),
        actors: [actor.clone()].into(),
        code_slots: enrolled.code_slots.clone(),
    };
    for n in 1..=FIXTURE_CODES.len() as u16 {
        let doc = super::tests::dossier_numbered(&actor, n);
        super::tests::push(&store, &dev, DocId::random(), doc.save());
    }
    drop(store);

    let out = fixture_path();
    let _ = std::fs::remove_file(&out);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let mut conn = Connection::open(&out).unwrap();
    migrations::migrate_to(&mut conn, 1).unwrap();
    // Tables are copied in name order, not in the order their keys refer.
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute(
        "ATTACH DATABASE ?1 AS today",
        [dir.path().join(DB_FILE).to_str().unwrap()],
    )
    .unwrap();
    let first = layout(&conn);
    for (name, columns) in &first {
        let Some(table) = name.strip_prefix("table ") else {
            continue;
        };
        let columns: Vec<&str> = columns
            .iter()
            .map(|c| c.split(' ').next().unwrap())
            .collect();
        let columns = columns.join(", ");
        conn.execute_batch(&format!(
            "INSERT INTO main.{table} ({columns}) SELECT {columns} FROM today.{table}"
        ))
        .unwrap();
    }
    // The first release kept no index version and recorded no schema version.
    conn.execute_batch(
        "DELETE FROM main.meta WHERE key = 'index_version'; DETACH DATABASE today;
         PRAGMA user_version = 0; PRAGMA journal_mode = DELETE; VACUUM;",
    )
    .unwrap();
}
