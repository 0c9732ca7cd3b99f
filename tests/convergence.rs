//! Randomised convergence: three levels of hubs, seven devices, random work
//! offline and online, faulty links, and hubs killed with SIGKILL — then,
//! with every link healed, every replica of a scope must hold the same
//! document heads and nothing written may be missing.
//!
//! Reproducible from the seed it prints: `MOTCUA_SEED=<seed>`. The number of
//! operations is `MOTCUA_OPS` (a CI-sized run by default; `scripts/soak`
//! runs long ones over many seeds).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::Context;
use motcua_tests::proxy::{Faults, Proxy};
use motcua_tests::{Device, HubOptions, HubProcess, eventually};

/// A reproducible random stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }
}

/// A device, the proxy it talks through, and the scope it belongs to.
struct Tablet {
    name: &'static str,
    device: Device,
    proxy: Proxy,
    token: String,
    unit: &'static str,
}

impl Tablet {
    fn sync(&self) -> anyhow::Result<serde_json::Value> {
        let data = self.device.data();
        motcua_tests::motcua_json(&[
            "sync",
            "--server",
            &self.proxy.url(),
            "--token",
            &self.token,
            "--data",
            &data,
            "--stall-after",
            "3",
        ])
    }
}

fn enrol(
    hub: &HubProcess,
    unit: &'static str,
    name: &'static str,
    seed: u64,
) -> anyhow::Result<Tablet> {
    let device = hub.enrol_device(unit)?;
    let token = motcua_tests::hub::device_setting(&device, "token")?;
    let proxy = Proxy::with_seed(hub.addr(), seed)?;
    Ok(Tablet {
        name,
        device,
        proxy,
        token,
        unit,
    })
}

/// A hub below `parent` whose uplink goes through a proxy.
fn hub_below(parent: &HubProcess, unit: &str, seed: u64) -> anyhow::Result<(HubProcess, Proxy)> {
    let proxy = Proxy::with_seed(parent.addr(), seed)?;
    let code = parent.admin(&[
        "enrolment",
        "--unit",
        unit,
        "--name",
        &format!("hub {unit}"),
        "--hub",
    ])?;
    let code = code["code"].as_str().context("code")?.to_string();
    let hub = HubProcess::start(HubOptions {
        args: vec![
            "--uplink".into(),
            proxy.url(),
            "--uplink-code".into(),
            code,
            "--uplink-retry-max".into(),
            "2".into(),
            "--uplink-stall-after".into(),
            "3".into(),
            // Frames the proxy drops on a live uplink are found by this check.
            "--uplink-verify-every".into(),
            "5".into(),
        ],
        ..HubOptions::default()
    })?;
    eventually(Duration::from_secs(30), || {
        Ok(hub.enrolment_code(unit).is_ok())
    })?;
    Ok((hub, proxy))
}

fn random_faults(rng: &mut Rng) -> Faults {
    Faults {
        drop: if rng.chance(0.3) { 0.05 } else { 0.0 },
        delay: Duration::from_millis(rng.below(20) as u64),
        jitter: Duration::from_millis(rng.below(20) as u64),
        stall: if rng.chance(0.3) { 0.05 } else { 0.0 },
        stall_for: Duration::from_millis(100),
        cut: if rng.chance(0.3) { 0.1 } else { 0.0 },
        ..Faults::default()
    }
}

const FINAL: &[&str] = &["result_returned", "withdrawn", "refused"];
const PROCEDURES: &[&str] = &["1.001193", "1.004873", "2.000815", "1.001022"];

#[test]
fn every_replica_converges_whatever_the_links_and_crashes() -> anyhow::Result<()> {
    let seed: u64 = std::env::var("MOTCUA_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
        | 1;
    let ops: usize = std::env::var("MOTCUA_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    println!("convergence: MOTCUA_SEED={seed} MOTCUA_OPS={ops}");
    let mut rng = Rng(seed);

    // Province → district → commune node, and a commune node under the province.
    let mut province = HubProcess::start(HubOptions {
        demo: true,
        ..HubOptions::default()
    })?;
    let (mut tan_phong, up_tan_phong) = hub_below(&province, "X0101", seed ^ 1)?;
    let (mut district, up_district) = hub_below(&province, "H0110", seed ^ 2)?;
    let (mut thanh_luong, up_thanh_luong) = hub_below(&district, "X0111", seed ^ 3)?;
    let uplinks = [&up_tan_phong, &up_district, &up_thanh_luong];

    let tablets = [
        enrol(&tan_phong, "X0101", "tân phong 1", seed ^ 10)?,
        enrol(&tan_phong, "X0101", "tân phong 2", seed ^ 11)?,
        enrol(&province, "X0101", "tân phong at the province", seed ^ 12)?,
        enrol(&thanh_luong, "X0111", "thanh lương 1", seed ^ 13)?,
        enrol(&thanh_luong, "X0111", "thanh lương 2", seed ^ 14)?,
        enrol(&district, "X0111", "thanh lương at the district", seed ^ 15)?,
        enrol(&province, "X0102", "đông hòa at the province", seed ^ 16)?,
    ];
    for t in &tablets {
        t.sync()?;
    }

    // What was written, to check nothing is lost.
    let mut entries: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut closed: BTreeSet<String> = BTreeSet::new();
    let mut codes_of: BTreeMap<&str, Vec<String>> = BTreeMap::new();

    for op in 0..ops {
        let t = &tablets[rng.below(tablets.len())];
        let known = codes_of.get(t.name).cloned().unwrap_or_default();
        match rng.below(100) {
            0..=19 => {
                let name = format!("Công dân {op}");
                let code = t
                    .device
                    .receive(PROCEDURES[rng.below(PROCEDURES.len())], &name)?;
                entries.entry(code.clone()).or_default();
                codes_of.entry(t.name).or_default().push(code);
            }
            20..=49 if !known.is_empty() => {
                let code = &known[rng.below(known.len())];
                let next: Vec<String> = t.device.show(code)?["next_stages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    // Close dossiers now and then, not at every chance.
                    .filter(|s| !FINAL.contains(&s.as_str()) || rng.chance(0.3))
                    .collect();
                if next.is_empty() {
                    continue;
                }
                let stage = next[rng.below(next.len())].as_str();
                if let Ok(out) = t.device.stage(code, stage) {
                    entries
                        .entry(code.clone())
                        .or_default()
                        .insert(out["entry"].as_str().unwrap_or_default().to_string());
                    if FINAL.contains(&stage) {
                        closed.insert(code.clone());
                    }
                }
            }
            50..=59 if !known.is_empty() => {
                // Concurrent edits of one field on different devices.
                let code = &known[rng.below(known.len())];
                let data = t.device.data();
                let _ = motcua_tests::motcua(&[
                    "dossier",
                    "edit",
                    "--data",
                    &data,
                    code,
                    "--field",
                    "applicant.address",
                    "--value",
                    &format!("Thôn {op}"),
                ]);
            }
            60..=79 => {
                // Syncs may fail on a faulty link; the device keeps its changes.
                if let Ok(report) = t.sync() {
                    let list = t.device.list()?;
                    let codes: Vec<String> = list
                        .iter()
                        .filter_map(|d| d["code"].as_str().map(str::to_owned))
                        .collect();
                    codes_of.insert(t.name, codes);
                    let _ = report;
                }
            }
            80..=89 => {
                let proxy = if rng.chance(0.5) {
                    &t.proxy
                } else {
                    uplinks[rng.below(uplinks.len())]
                };
                if rng.chance(0.2) {
                    proxy.partition(true);
                } else {
                    proxy.partition(false);
                    proxy.set(random_faults(&mut rng));
                }
            }
            90..=95 => {
                // A hub dies without warning and comes back on the same data.
                let hub = match rng.below(4) {
                    0 => &mut province,
                    1 => &mut tan_phong,
                    2 => &mut district,
                    _ => &mut thanh_luong,
                };
                hub.kill();
                hub.restart()?;
            }
            _ => {
                for proxy in uplinks
                    .iter()
                    .copied()
                    .chain(tablets.iter().map(|t| &t.proxy))
                {
                    proxy.heal();
                }
            }
        }
    }

    // Heal everything and let it settle.
    for proxy in uplinks
        .iter()
        .copied()
        .chain(tablets.iter().map(|t| &t.proxy))
    {
        proxy.partition(false);
        proxy.heal();
    }
    let scopes: [(&str, Vec<&HubProcess>); 3] = [
        ("X0101", vec![&tan_phong, &province]),
        ("X0111", vec![&thanh_luong, &district, &province]),
        ("X0102", vec![&province]),
    ];
    let mut mismatch = String::new();
    let settled = eventually(Duration::from_secs(180), || {
        for t in &tablets {
            let _ = t.sync();
        }
        for (unit, hubs) in &scopes {
            let reference = hubs[0].heads(Some(unit))?;
            for (i, hub) in hubs.iter().enumerate() {
                let heads = hub.heads(Some(unit))?;
                if heads != reference {
                    mismatch = describe(unit, &format!("hub {i}"), &heads, &reference);
                    return Ok(false);
                }
            }
            for t in tablets.iter().filter(|t| t.unit == *unit) {
                let heads = t.device.heads(Some(unit))?;
                if heads != reference {
                    mismatch = describe(unit, t.name, &heads, &reference);
                    return Ok(false);
                }
            }
        }
        Ok(true)
    });
    settled
        .with_context(|| format!("replicas did not converge (MOTCUA_SEED={seed}): {mismatch}"))?;

    // Nothing written is missing, no closed dossier reopened, no code twice.
    let mut seen_codes: BTreeMap<String, String> = BTreeMap::new();
    for t in &tablets {
        for (id, d) in
            motcua_tests::motcua_json(&["state", "--data", &t.device.data()])?["documents"]
                .as_object()
                .context("state")?
        {
            if let Some(code) = d["code"].as_str() {
                let previous = seen_codes.insert(code.to_string(), id.clone());
                assert!(
                    previous.is_none_or(|p| &p == id),
                    "code {code} used by two dossiers (MOTCUA_SEED={seed})"
                );
            }
        }
    }
    for (code, written) in &entries {
        let unit = code.split('-').next().unwrap_or_default();
        let t = tablets
            .iter()
            .find(|t| t.unit == unit)
            .context("a tablet of the unit")?;
        let shown = t
            .device
            .show(code)
            .with_context(|| format!("{code} missing (MOTCUA_SEED={seed})"))?;
        let ids: BTreeSet<String> = shown["dossier"]["stages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["id"].as_str().map(str::to_owned))
            .collect();
        for entry in written {
            assert!(
                ids.contains(entry),
                "{code}: stage entry {entry} lost (MOTCUA_SEED={seed})"
            );
        }
        if closed.contains(code) {
            let current = shown["progress"]["current"].as_str().unwrap_or_default();
            assert!(
                FINAL.contains(&current),
                "{code} was closed and is now '{current}' (MOTCUA_SEED={seed})"
            );
        }
    }
    for hub in [&province, &tan_phong, &district, &thanh_luong] {
        let verify = hub.admin(&["verify"])?;
        assert!(
            verify["problems"].as_array().is_some_and(|p| p.is_empty()),
            "{verify} (MOTCUA_SEED={seed})"
        );
    }
    println!(
        "convergence: {} dossiers, {} closed, all replicas agree",
        entries.len(),
        closed.len()
    );
    Ok(())
}

/// Which documents differ between a replica and the scope's first hub.
fn describe(
    unit: &str,
    who: &str,
    heads: &BTreeMap<String, serde_json::Value>,
    reference: &BTreeMap<String, serde_json::Value>,
) -> String {
    let missing: Vec<&String> = reference
        .keys()
        .filter(|k| !heads.contains_key(*k))
        .collect();
    let extra: Vec<&String> = heads
        .keys()
        .filter(|k| !reference.contains_key(*k))
        .collect();
    let differ: Vec<&String> = heads
        .iter()
        .filter(|(k, v)| reference.get(*k).is_some_and(|r| r != *v))
        .map(|(k, _)| k)
        .collect();
    format!("{unit}: {who} lacks {missing:?}, has extra {extra:?}, differs on {differ:?}")
}
