//! Who may do what: units, users and their sessions, devices, enrolment and
//! the Automerge actors bound to each device.
//!
//! Secrets (session tokens, device tokens, enrolment codes) are random and
//! stored only as SHA-256 hashes; passwords are hashed with Argon2.

use std::collections::BTreeSet;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use automerge::ActorId;
use client_core::codes::CodeSlot;
use client_core::ids::UnitCode;
use client_core::sync::hub::DeviceIdentity;
use client_core::sync::protocol::{ErrorCode, ErrorMessage, Hello};
use client_core::units::{Unit, UnitLevel, UnitTree};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::{EnrolmentRefusal, Result, Store, StoreError, now_ms, random_bytes};

/// The most dossier code slots one device holds.
const MAX_CODE_SLOTS: u8 = 10;

/// How long a log-in lasts.
pub const SESSION_MS: i64 = 12 * 3600 * 1000;
/// How long a one-time enrolment code can be used.
pub const ENROLMENT_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Cán bộ một cửa: receives dossiers, records stages, returns results.
    Clerk,
    /// Chuyên viên: processes dossiers.
    Specialist,
    /// Lãnh đạo: reviews, signs, follows the figures.
    Leader,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Clerk, Role::Specialist, Role::Leader, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Specialist => "specialist",
            Role::Leader => "leader",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What an enrolled device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A tablet, phone or computer holding a replica.
    Device,
    /// A hub below this one (a commune node or a district hub) that relays
    /// its own devices' changes.
    Hub,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Device => "device",
            DeviceKind::Hub => "hub",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceKind> {
        match s {
            "device" => Some(DeviceKind::Device),
            "hub" => Some(DeviceKind::Hub),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub full_name: String,
    pub role: Role,
    pub unit: UnitCode,
    pub active: bool,
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    sha2::Sha256::digest(secret.as_bytes()).to_vec()
}

fn random_token(prefix: &str) -> String {
    format!("{prefix}{}", hex::encode(random_bytes::<32>()))
}

/// A one-time code a person can type: 12 characters without look-alikes.
fn random_enrolment_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let bytes = random_bytes::<12>();
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])
}

fn normalize_enrolment_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

// ---------------------------------------------------------------- units

pub fn load_units(conn: &Connection) -> Result<UnitTree> {
    let mut stmt =
        conn.prepare("SELECT code, name, level, parent, effective_from, effective_to FROM units")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut units = Vec::new();
    for row in rows {
        let (code, name, level, parent, from, to) = row?;
        let bad = |what: &str| {
            StoreError::DamagedRecord(format!("unit {code}: stored {what} is damaged"))
        };
        units.push(Unit {
            code: UnitCode::parse(&code).map_err(|_| bad("code"))?,
            name: name.clone(),
            level: serde_json::from_value(serde_json::Value::String(level.clone()))
                .map_err(|_| bad("level"))?,
            parent: parent
                .map(|p| UnitCode::parse(&p))
                .transpose()
                .map_err(|_| bad("parent"))?,
            effective_from: from
                .map(|d| d.parse())
                .transpose()
                .map_err(|_| bad("effective_from"))?,
            effective_to: to
                .map(|d| d.parse())
                .transpose()
                .map_err(|_| bad("effective_to"))?,
        });
    }
    UnitTree::new(units).map_err(|e| StoreError::DamagedRecord(format!("stored unit tree: {e}")))
}

fn level_str(level: UnitLevel) -> String {
    serde_json::to_value(level)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Store {
    /// Adds or updates units; the resulting tree must be valid.
    pub fn upsert_units(&self, units: &[Unit]) -> Result<()> {
        let mut all: Vec<Unit> = self
            .units()
            .units()
            .filter(|u| !units.iter().any(|n| n.code == u.code))
            .cloned()
            .collect();
        all.extend(units.iter().cloned());
        let tree = UnitTree::new(all)?;
        // Parents before children, for the foreign key.
        let mut ordered: Vec<&Unit> = units.iter().collect();
        ordered.sort_by_key(|u| tree.ancestors(&u.code).len());
        self.write(|tx| {
            for u in ordered {
                tx.execute(
                    "INSERT INTO units (code, name, level, parent, effective_from, effective_to) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(code) DO UPDATE SET name = excluded.name, level = excluded.level, parent = excluded.parent,
                       effective_from = excluded.effective_from, effective_to = excluded.effective_to",
                    params![
                        u.code.as_str(),
                        u.name,
                        level_str(u.level),
                        u.parent.as_ref().map(|p| p.as_str()),
                        u.effective_from.map(|d| d.to_string()),
                        u.effective_to.map(|d| d.to_string())
                    ],
                )?;
            }
            Ok(())
        })?;
        self.set_units(tree);
        Ok(())
    }

    /// The units whose dossiers someone at `unit` sees: its subtree.
    pub fn scope_of(&self, unit: &UnitCode) -> BTreeSet<UnitCode> {
        self.units().subtree(unit).into_iter().collect()
    }

    // ------------------------------------------------------------ users

    pub fn create_user(
        &self,
        username: &str,
        full_name: &str,
        password: &str,
        role: Role,
        unit: &UnitCode,
    ) -> Result<User> {
        let username = username.trim().to_lowercase();
        if username.is_empty()
            || !username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
        {
            return Err(StoreError::BadUsername);
        }
        if password.chars().count() < 8 {
            return Err(StoreError::ShortPassword);
        }
        if !self.units().contains(unit) {
            return Err(StoreError::UnknownUnit(unit.clone()));
        }
        let hash = hash_password(password)?;
        let full_name = client_core::search::normalize(full_name);
        self.write(|tx| {
            let taken: bool = tx.query_row("SELECT EXISTS(SELECT 1 FROM users WHERE username = ?1)", [&username], |r| r.get(0))?;
            if taken {
                return Err(StoreError::Duplicate { what: "user", id: username.clone() });
            }
            tx.execute(
                "INSERT INTO users (username, full_name, password_hash, role, unit, active, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
                params![username, full_name, hash, role.as_str(), unit.as_str(), now_ms()],
            )?;
            super::audit::record(tx, "hub", "user.create", &username, &format!("role {} unit {unit}", role.as_str()))?;
            Ok(())
        })?;
        Ok(User {
            username,
            full_name,
            role,
            unit: unit.clone(),
            active: true,
        })
    }

    pub fn users(&self) -> Result<Vec<User>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT username, full_name, role, unit, active FROM users ORDER BY unit, username",
            )?;
            let rows = stmt.query_map([], user_from_row)?;
            rows.map(|r| r?.map_err(StoreError::DamagedRecord))
                .collect()
        })
    }

    pub fn user(&self, username: &str) -> Result<Option<User>> {
        self.read(|conn| {
            let row = conn
                .query_row(
                    "SELECT username, full_name, role, unit, active FROM users WHERE username = ?1",
                    [username],
                    user_from_row,
                )
                .optional()?;
            row.transpose().map_err(StoreError::DamagedRecord)
        })
    }

    pub fn set_user_active(&self, username: &str, active: bool, by: &str) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE users SET active = ?2 WHERE username = ?1",
                params![username, active],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("user {username}")));
            }
            if !active {
                tx.execute("DELETE FROM sessions WHERE username = ?1", [username])?;
            }
            super::audit::record(
                tx,
                by,
                if active {
                    "user.enable"
                } else {
                    "user.disable"
                },
                username,
                "",
            )
        })
    }

    /// Checks a password; `None` for a wrong user or password alike.
    pub fn verify_login(&self, username: &str, password: &str) -> Result<Option<User>> {
        let username = username.trim().to_lowercase();
        let row: Option<(String, bool)> = self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT password_hash, active FROM users WHERE username = ?1",
                    [&username],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?)
        })?;
        let Some((hash, active)) = row else {
            // Spend the same time as a real check so user names cannot be probed.
            let _ = verify_password(password, DUMMY_HASH);
            return Ok(None);
        };
        if !active || !verify_password(password, &hash) {
            return Ok(None);
        }
        self.user(&username)
    }

    pub fn create_session(&self, username: &str) -> Result<String> {
        let token = random_token("mcs_");
        let now = now_ms();
        self.write(|tx| {
            tx.execute("DELETE FROM sessions WHERE expires_at < ?1", [now])?;
            tx.execute(
                "INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![hash_secret(&token), username, now, now + SESSION_MS],
            )?;
            super::audit::record(tx, &format!("user:{username}"), "session.login", username, "")
        })?;
        Ok(token)
    }

    pub fn session_user(&self, token: &str) -> Result<Option<User>> {
        let username: Option<String> = self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT s.username FROM sessions s JOIN users u ON u.username = s.username
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.active = 1",
                    params![hash_secret(token), now_ms()],
                    |r| r.get(0),
                )
                .optional()?)
        })?;
        match username {
            Some(u) => self.user(&u),
            None => Ok(None),
        }
    }

    pub fn end_session(&self, token: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                [hash_secret(token)],
            )?;
            Ok(())
        })
    }

    // ---------------------------------------------------------- devices

    /// Creates a one-time enrolment code for a device of `unit`.
    pub fn create_enrolment(
        &self,
        unit: &UnitCode,
        name: &str,
        slots: u8,
        kind: DeviceKind,
        by: &str,
    ) -> Result<Enrolment> {
        if !self.units().contains(unit) {
            return Err(StoreError::UnknownUnit(unit.clone()));
        }
        // A leader's phone that only reads and records stages needs none.
        if kind == DeviceKind::Device && slots > MAX_CODE_SLOTS {
            return Err(StoreError::TooManyCodeSlots {
                max: MAX_CODE_SLOTS,
            });
        }
        let code = random_enrolment_code();
        let now = now_ms();
        let expires_at = now + ENROLMENT_MS;
        let name = client_core::search::normalize(name);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO enrolments (code_hash, unit, name, kind, slots, created_by, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![hash_secret(&normalize_enrolment_code(&code)), unit.as_str(), name, kind.as_str(), slots, by, now, expires_at],
            )?;
            super::audit::record(tx, by, "enrolment.create", unit.as_str(), &name)
        })?;
        Ok(Enrolment {
            code,
            unit: unit.clone(),
            name,
            expires_at,
        })
    }

    /// Exchanges a one-time enrolment code for a device token and binds the
    /// device's actors.
    pub fn enrol(&self, code: &str, actors: &[ActorId]) -> Result<EnrolledDevice> {
        let token = random_token("mcd_");
        let device_id = format!("dev-{}", hex::encode(random_bytes::<6>()));
        let now = now_ms();
        let range = CodeSlot::range_for_depth(self.depth()?);
        let enrolled = self.write(|tx| {
            let row: Option<(String, String, String, u8, i64, Option<i64>)> = tx
                .query_row(
                    "SELECT unit, name, kind, slots, expires_at, used_at FROM enrolments WHERE code_hash = ?1",
                    [hash_secret(&normalize_enrolment_code(code))],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                )
                .optional()?;
            let Some((unit, name, kind, slots, expires_at, used_at)) = row else {
                return Err(StoreError::Enrolment(EnrolmentRefusal::Unknown));
            };
            if used_at.is_some() {
                return Err(StoreError::Enrolment(EnrolmentRefusal::Used));
            }
            if expires_at < now {
                return Err(StoreError::Enrolment(EnrolmentRefusal::Expired));
            }
            let kind = DeviceKind::parse(&kind).ok_or_else(|| StoreError::DamagedRecord(format!("enrolment kind '{kind}' is damaged")))?;
            // A hub below issues no codes itself; its devices get slots from
            // its own share.
            let wanted = if kind == DeviceKind::Hub { 0 } else { slots };
            let taken = taken_slots(tx, &unit)?;
            let mut given = Vec::new();
            for _ in 0..wanted {
                let all_taken: Vec<CodeSlot> = taken.iter().chain(given.iter()).copied().collect();
                match CodeSlot::first_free_in(&all_taken, range.clone()) {
                    Some(slot) => given.push(slot),
                    None => return Err(StoreError::NoFreeCodeSlot { unit }),
                }
            }
            let slot_numbers: Vec<u8> = given.iter().map(|s| s.index()).collect();
            tx.execute(
                "INSERT INTO devices (device_id, name, kind, unit, token_hash, code_slots, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![device_id, name, kind.as_str(), unit, hash_secret(&token), serde_json::to_string(&slot_numbers).unwrap_or_default(), now],
            )?;
            tx.execute(
                "UPDATE enrolments SET used_at = ?2, device_id = ?3 WHERE code_hash = ?1",
                params![hash_secret(&normalize_enrolment_code(code)), now, device_id],
            )?;
            for actor in actors {
                bind_actor(tx, &device_id, actor, kind == DeviceKind::Hub)?;
            }
            super::audit::record(tx, &format!("device:{device_id}"), "device.enrol", &unit, &name)?;
            Ok(EnrolledDevice {
                device_id: device_id.clone(),
                name,
                unit: UnitCode::parse(&unit).map_err(|e| StoreError::DamagedRecord(e.to_string()))?,
                token: token.clone(),
                code_slots: slot_numbers,
            })
        })?;
        Ok(enrolled)
    }

    pub fn revoke_device(&self, device_id: &str, by: &str) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE devices SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
                params![device_id, now_ms()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("active device {device_id}")));
            }
            super::audit::record(tx, by, "device.revoke", device_id, "")
        })
    }

    pub fn devices(&self) -> Result<Vec<DeviceRow>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT device_id, name, unit, code_slots, created_at, revoked_at, last_seen_at, checkpoint_seq FROM devices ORDER BY unit, name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(DeviceRow {
                    device_id: r.get(0)?,
                    name: r.get(1)?,
                    unit: r.get(2)?,
                    code_slots: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                    created_at: r.get(4)?,
                    revoked_at: r.get(5)?,
                    last_seen_at: r.get(6)?,
                    checkpoint_seq: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Checks a device's token for a sync connection and binds its new
    /// actors; `Err` inside is the refusal to send to the device. A
    /// checkpoint of another hub (or of this one before a restore) is not
    /// kept: the device catches up in full.
    pub fn authenticate(
        &self,
        hello: &Hello,
    ) -> Result<std::result::Result<DeviceIdentity, ErrorMessage>> {
        let (token, actors) = (&hello.token, &hello.actors);
        let checkpoint = hello
            .since
            .filter(|c| c.hub == Store::hub_id(self))
            .map(|c| c.seq);
        if let Some(since) = hello.since.filter(|_| checkpoint.is_none()) {
            // Another hub's, or this one's before a restore: a full catch-up.
            tracing::info!(
                "a device's checkpoint is of hub {}, not this one: it catches up in full",
                since.hub
            );
        }
        let refuse = |code, message: &str| {
            Ok(Err(ErrorMessage {
                code,
                message: message.to_string(),
                fatal: true,
            }))
        };
        let row: Option<(String, String, String, String, Option<i64>)> = self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT device_id, kind, unit, code_slots, revoked_at FROM devices WHERE token_hash = ?1",
                    [hash_secret(token)],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?)
        })?;
        let Some((device_id, kind, unit, slots, revoked)) = row else {
            return refuse(
                ErrorCode::Unauthorized,
                "unknown device token: enrol this device with a code from an administrator",
            );
        };
        if revoked.is_some() {
            return refuse(
                ErrorCode::Revoked,
                "this device was revoked by an administrator; enrol it again",
            );
        }
        let unit = UnitCode::parse(&unit).map_err(|e| StoreError::DamagedRecord(e.to_string()))?;
        let actors: Vec<ActorId> = actors.iter().map(|a| ActorId::from(a.as_slice())).collect();
        let relay = DeviceKind::parse(&kind) == Some(DeviceKind::Hub);
        let written = self.write(|tx| {
            for actor in &actors {
                let mine: bool = tx.query_row(
                    "SELECT EXISTS(SELECT 1 FROM device_actors WHERE actor = ?1 AND device_id = ?2)",
                    params![actor.to_bytes(), device_id],
                    |r| r.get(0),
                )?;
                if mine {
                    continue;
                }
                // A hub below relays the actors of its own devices; an
                // ordinary device may only claim actors nobody else owns.
                if !relay && direct_owner(tx, actor)?.is_some() {
                    return Ok(Err(actor.to_hex_string()));
                }
                bind_actor(tx, &device_id, actor, relay)?;
            }
            tx.execute(
                "UPDATE devices SET last_seen_at = ?2, checkpoint_seq = COALESCE(?3, checkpoint_seq) WHERE device_id = ?1",
                params![device_id, now_ms(), checkpoint.map(|c| c as i64)],
            )?;
            let mut stmt = tx.prepare("SELECT actor FROM device_actors WHERE device_id = ?1")?;
            let all = stmt.query_map([&device_id], |r| r.get::<_, Vec<u8>>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Ok(all))
        });
        let bound = match written {
            // A full disk keeps serving devices that bring no new actor:
            // their last-seen time waits for the next connection.
            Err(e) if e.is_disk_full() => {
                let all = self.read(|c| {
                    let mut stmt =
                        c.prepare("SELECT actor FROM device_actors WHERE device_id = ?1")?;
                    let all = stmt.query_map([&device_id], |r| r.get::<_, Vec<u8>>(0))?;
                    Ok(all.collect::<rusqlite::Result<Vec<_>>>()?)
                })?;
                if actors.iter().any(|a| !all.contains(&a.to_bytes().to_vec())) {
                    return refuse(ErrorCode::Internal, &e.to_string());
                }
                Ok(all)
            }
            other => other?,
        };
        let actors = match bound {
            Err(actor) => {
                return refuse(
                    ErrorCode::Unauthorized,
                    &format!("actor {actor} belongs to another device"),
                );
            }
            Ok(all) => all
                .into_iter()
                .map(ActorId::from)
                .chain(self.recovery_actors()?)
                .collect(),
        };
        Ok(Ok(DeviceIdentity {
            device_id,
            scope: self.scope_of(&unit),
            unit,
            actors,
            code_slots: serde_json::from_str(&slots).unwrap_or_default(),
        }))
    }
}

/// The device an actor is bound to as its own, if any.
fn direct_owner(tx: &rusqlite::Transaction<'_>, actor: &ActorId) -> Result<Option<String>> {
    Ok(tx
        .query_row(
            "SELECT device_id FROM device_actors WHERE actor = ?1 AND relayed = 0",
            [actor.to_bytes()],
            |r| r.get(0),
        )
        .optional()?)
}

fn bind_actor(
    tx: &rusqlite::Transaction<'_>,
    device_id: &str,
    actor: &ActorId,
    relayed: bool,
) -> Result<()> {
    if !relayed && direct_owner(tx, actor)?.is_some_and(|owner| owner != device_id) {
        return Err(StoreError::ActorTaken {
            actor: actor.to_hex_string(),
        });
    }
    tx.execute(
        "INSERT OR IGNORE INTO device_actors (actor, device_id, relayed) VALUES (?1, ?2, ?3)",
        params![actor.to_bytes(), device_id, relayed],
    )?;
    Ok(())
}

fn taken_slots(tx: &rusqlite::Transaction<'_>, unit: &str) -> Result<Vec<CodeSlot>> {
    let mut stmt =
        tx.prepare("SELECT code_slots FROM devices WHERE unit = ?1 AND revoked_at IS NULL")?;
    let rows = stmt.query_map([unit], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        let slots: Vec<u8> = serde_json::from_str(&row?).unwrap_or_default();
        out.extend(slots.into_iter().filter_map(|s| CodeSlot::new(s).ok()));
    }
    Ok(out)
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<std::result::Result<User, String>> {
    let username: String = r.get(0)?;
    let role: String = r.get(2)?;
    let unit: String = r.get(3)?;
    Ok((|| {
        Ok(User {
            full_name: r.get(1).map_err(|e| e.to_string())?,
            role: Role::parse(&role)
                .ok_or_else(|| format!("user {username}: stored role '{role}' is unknown"))?,
            unit: UnitCode::parse(&unit).map_err(|e| format!("user {username}: {e}"))?,
            active: r.get(4).map_err(|e| e.to_string())?,
            username: username.clone(),
        })
    })())
}

/// A hash of a password nobody has, for timing-safe failures.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2kZp0Ko4UFpPRk9lxv5WzOFt5w2jvnq8xNVuKXEYGEI";

fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| StoreError::PasswordHash(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::PasswordHash(e.to_string()))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Enrolment {
    pub code: String,
    pub unit: UnitCode,
    pub name: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrolledDevice {
    pub device_id: String,
    pub name: String,
    pub unit: UnitCode,
    pub token: String,
    pub code_slots: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeviceRow {
    pub device_id: String,
    pub name: String,
    pub unit: String,
    pub code_slots: Vec<u8>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub checkpoint_seq: i64,
}
