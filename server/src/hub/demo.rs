//! `motcua serve --demo`: a small province to try the product with.
//!
//! The demo province has a commune-only branch (the post-2025 shape) and a
//! district with a commune under it (older deployments), users of every
//! role, enrolled devices, the seed catalogue and this year's calendar.
//! Seeding happens once per data directory; later starts print the same
//! log-ins.

use client_core::ids::UnitCode;
use client_core::units::{Unit, UnitLevel};

use super::publish::publish_all;
use crate::store::identity::{DeviceKind, Role};
use crate::store::{Result, Store};

/// The `meta` key under which the first start keeps the log-ins it printed.
const LOGINS_META: &str = "demo_logins";

/// The demo users' password.
pub const DEMO_PASSWORD: &str = "motcua2026";

fn unit(code: &str, name: &str, level: UnitLevel, parent: Option<&str>) -> Unit {
    Unit {
        code: UnitCode::parse(code).expect("demo unit codes are valid"),
        name: name.to_string(),
        level,
        parent: parent.map(|p| UnitCode::parse(p).expect("demo unit codes are valid")),
        effective_from: None,
        effective_to: None,
    }
}

pub fn demo_units() -> Vec<Unit> {
    vec![
        unit("T01", "Tỉnh Sơn Lâm", UnitLevel::Province, None),
        unit("X0101", "Xã Tân Phong", UnitLevel::Commune, Some("T01")),
        unit("X0102", "Xã Đông Hòa", UnitLevel::Commune, Some("T01")),
        unit("X0103", "Phường Bình Minh", UnitLevel::Commune, Some("T01")),
        unit("H0110", "Huyện Ngọc Sơn", UnitLevel::District, Some("T01")),
        unit("X0111", "Xã Thanh Lương", UnitLevel::Commune, Some("H0110")),
    ]
}

/// (username, full name, role, unit)
const DEMO_USERS: &[(&str, &str, Role, &str)] = &[
    ("admin", "Quản trị Tỉnh Sơn Lâm", Role::Admin, "T01"),
    ("lanhdao.tinh", "Trần Quốc Hùng", Role::Leader, "T01"),
    ("chuyenvien.tinh", "Lê Thị Thu", Role::Specialist, "T01"),
    ("canbo.tanphong", "Nguyễn Thị Hoa", Role::Clerk, "X0101"),
    (
        "chuyenvien.tanphong",
        "Phạm Văn Nam",
        Role::Specialist,
        "X0101",
    ),
    ("lanhdao.tanphong", "Đỗ Minh Tuấn", Role::Leader, "X0101"),
    ("canbo.donghoa", "Vũ Thị Lan", Role::Clerk, "X0102"),
    ("canbo.binhminh", "Hoàng Văn Đức", Role::Clerk, "X0103"),
    (
        "admin.ngocson",
        "Quản trị Huyện Ngọc Sơn",
        Role::Admin,
        "H0110",
    ),
    ("canbo.thanhluong", "Bùi Thị Mai", Role::Clerk, "X0111"),
];

/// (device name, unit, code slots)
const DEMO_DEVICES: &[(&str, &str, u8)] = &[
    ("Máy tính bảng quầy 1 – Tân Phong", "X0101", 2),
    ("Máy tính bảng quầy 2 – Tân Phong", "X0101", 1),
    ("Máy tính bảng – Đông Hòa", "X0102", 1),
    ("Điện thoại lãnh đạo tỉnh", "T01", 1),
];

/// Seeds the demo once and returns the text with the log-ins to print.
pub fn seed(store: &Store) -> Result<String> {
    if let Some(text) = store.meta(LOGINS_META)? {
        return Ok(text);
    }
    store.upsert_units(&demo_units())?;
    for (username, full_name, role, unit) in DEMO_USERS {
        store.create_user(
            username,
            full_name,
            DEMO_PASSWORD,
            *role,
            &UnitCode::parse(unit)?,
        )?;
    }
    let mut devices = Vec::new();
    for (name, unit, slots) in DEMO_DEVICES {
        let unit = UnitCode::parse(unit)?;
        let enrolment = store.create_enrolment(&unit, name, *slots, DeviceKind::Device, "demo")?;
        let device = store.enrol(&enrolment.code, &[])?;
        devices.push(device);
    }
    let spare = store.create_enrolment(
        &UnitCode::parse("X0101")?,
        "Thiết bị mới – Tân Phong",
        1,
        DeviceKind::Device,
        "demo",
    )?;
    publish_all(store)?;

    let mut text = String::from("Demo log-ins (mật khẩu / password: motcua2026):\n");
    for (username, full_name, role, unit) in DEMO_USERS {
        text.push_str(&format!(
            "  {username:<22} {:<11} {unit:<6} {full_name}\n",
            role.as_str()
        ));
    }
    text.push_str("Demo devices (motcua sync --token …):\n");
    for d in &devices {
        text.push_str(&format!("  {:<6} {}  {}\n", d.unit, d.token, d.name));
    }
    text.push_str(&format!(
        "One-time enrolment code for a new device of X0101 (valid 24 h): {}\n",
        spare.code
    ));
    store.set_meta(LOGINS_META, &text)?;
    Ok(text)
}
