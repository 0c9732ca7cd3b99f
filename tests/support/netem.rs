//! Two hosts on one machine joined by a link shaped like a rural uplink.
//!
//! [`NetemLink::create`] makes two network namespaces joined by a veth pair
//! (10.77.0.1 on side A, 10.77.0.2 on side B), and shapes both ends with
//! `tc qdisc … netem` (bandwidth, one-way delay, loss), so traffic between
//! the sides crosses the kernel's real TCP over a bad link. Commands run on
//! a side with [`NetemLink::command`] (`ip netns exec`). Dropping the link
//! deletes the namespaces and the veth pair with them; drop the processes
//! running inside first (declare the link before them).
//!
//! Kernels built without netem (`CONFIG_NET_SCH_NETEM`, missing on some VMs)
//! get the nearest shape that they can do: the rate by `tc … tbf` and the
//! loss by an nftables rule (`numgen random`), without the added delay;
//! [`NetemLink::shaping`] says which was applied, and the tests print it.
//!
//! This needs root, `ip` and `tc` (Debian's `iproute2`), `nft` for the
//! fallback (Debian's `nftables`) — `scripts/test` installs both — and a
//! kernel that allows network namespaces. Where any is missing,
//! [`link_or_skip`] prints `skipped: <reason>` and the test returns.

use std::ffi::OsStr;
use std::fmt;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The shape of both directions of the link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkShape {
    /// Bandwidth each way, in kilobits per second.
    pub rate_kbit: Option<u32>,
    /// One-way delay (the round trip is twice this).
    pub delay: Duration,
    /// Random variation of the delay.
    pub jitter: Duration,
    /// Packets lost each way, in percent.
    pub loss_percent: f64,
}

impl LinkShape {
    /// A poor commune uplink: 256 kbit/s, 150 ms each way (300 ms round
    /// trip), 3 % loss.
    pub fn rural() -> Self {
        Self {
            rate_kbit: Some(256),
            delay: Duration::from_millis(150),
            jitter: Duration::ZERO,
            loss_percent: 3.0,
        }
    }

    /// The `netem` arguments of `tc qdisc add … netem`.
    fn netem_args(&self) -> Vec<String> {
        let mut args = vec!["delay".to_string(), format!("{}ms", self.delay.as_millis())];
        if !self.jitter.is_zero() {
            args.push(format!("{}ms", self.jitter.as_millis()));
        }
        if self.loss_percent > 0.0 {
            args.extend(["loss".to_string(), format!("{}%", self.loss_percent)]);
        }
        if let Some(rate) = self.rate_kbit {
            args.extend(["rate".to_string(), format!("{rate}kbit")]);
        }
        args
    }
}

/// One end of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// Why the link could not be made here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "skipped: {}", self.0)
    }
}

impl std::error::Error for Unavailable {}

/// Two namespaces joined by a shaped veth pair; removed on drop.
#[derive(Debug)]
pub struct NetemLink {
    namespaces: [String; 2],
    devices: [String; 2],
    shaping: String,
}

const ADDRESSES: [Ipv4Addr; 2] = [Ipv4Addr::new(10, 77, 0, 1), Ipv4Addr::new(10, 77, 0, 2)];

impl NetemLink {
    pub fn create(shape: &LinkShape) -> Result<NetemLink, Unavailable> {
        check_tools()?;
        static NEXT: AtomicU32 = AtomicU32::new(0);
        // Unique per process and link; interface names must stay within 15
        // bytes.
        let tag = format!(
            "{}x{}",
            std::process::id() % 10_000_000,
            NEXT.fetch_add(1, Ordering::Relaxed) % 1000
        );
        let mut link = NetemLink {
            namespaces: [format!("mc{tag}a"), format!("mc{tag}b")],
            devices: [format!("mv{tag}a"), format!("mv{tag}b")],
            shaping: String::new(),
        };
        // From here on, dropping `link` removes whatever was made.
        for ns in &link.namespaces {
            ip(&["netns", "add", ns])?;
        }
        let [dev_a, dev_b] = &link.devices;
        ip(&["link", "add", dev_a, "type", "veth", "peer", "name", dev_b])?;
        for side in [Side::A, Side::B] {
            let (ns, dev, addr) = (link.ns(side), link.dev(side), link.addr(side));
            ip(&["link", "set", dev, "netns", ns])?;
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        let netem = shape.netem_args();
        let with_netem = [Side::A, Side::B].iter().try_for_each(|side| {
            let mut tc = vec!["-n", link.ns(*side), "qdisc", "add", "dev", link.dev(*side)];
            tc.extend(["root", "netem"]);
            tc.extend(netem.iter().map(String::as_str));
            run("tc", &tc)
        });
        link.shaping = match with_netem {
            Ok(()) => format!("netem {}", netem.join(" ")),
            Err(netem_error) => link.shape_without_netem(shape).map_err(|e| {
                Unavailable(format!(
                    "netem is not available ({}), and neither is the fallback: {}",
                    netem_error.0, e.0
                ))
            })?,
        };
        Ok(link)
    }

    /// The rate with a token bucket and the loss with nftables, on both
    /// sides; the kernel has no way to add delay without netem.
    fn shape_without_netem(&self, shape: &LinkShape) -> Result<String, Unavailable> {
        let mut applied = Vec::new();
        for side in [Side::A, Side::B] {
            let (ns, dev) = (self.ns(side), self.dev(side));
            // Rules and qdiscs of a failed netem attempt, if any, go first.
            let _ = quiet("tc", &["-n", ns, "qdisc", "del", "dev", dev, "root"]);
            if let Some(rate) = shape.rate_kbit {
                // A queue long enough that the bucket delays rather than
                // drops: loss is the nftables rule's job.
                let rate = format!("{rate}kbit");
                run(
                    "tc",
                    &[
                        "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", &rate,
                        "burst", "4kb", "latency", "2s",
                    ],
                )?;
            }
            if shape.loss_percent > 0.0 {
                let per_mille = (shape.loss_percent * 10.0).round() as u32;
                // Dropped as they arrive, before the IP stack: to the sender
                // this is loss on the wire (a drop on output would instead
                // report an error to it).
                let rules = format!(
                    "table netdev motcua_loss {{\n\
                     chain wire {{ type filter hook ingress device \"{dev}\" priority 0; policy accept;\n\
                     numgen random mod 1000 < {per_mille} drop\n}}\n}}\n"
                );
                nft(ns, &rules)?;
            }
        }
        if let Some(rate) = shape.rate_kbit {
            applied.push(format!("rate {rate}kbit (tbf)"));
        }
        if shape.loss_percent > 0.0 {
            applied.push(format!("loss {}% (nftables)", shape.loss_percent));
        }
        if !shape.delay.is_zero() || !shape.jitter.is_zero() {
            applied.push(format!(
                "no delay (wanted {} ms: this kernel has no netem)",
                shape.delay.as_millis()
            ));
        }
        Ok(applied.join(", "))
    }

    /// What shapes the link: `netem …`, or the fallback's parts.
    pub fn shaping(&self) -> &str {
        &self.shaping
    }

    fn index(side: Side) -> usize {
        match side {
            Side::A => 0,
            Side::B => 1,
        }
    }

    /// The namespace of a side.
    pub fn ns(&self, side: Side) -> &str {
        &self.namespaces[Self::index(side)]
    }

    fn dev(&self, side: Side) -> &str {
        &self.devices[Self::index(side)]
    }

    /// A side's address on the link.
    pub fn addr(&self, side: Side) -> Ipv4Addr {
        ADDRESSES[Self::index(side)]
    }

    /// The words that run a program on a side: `ip netns exec NS`.
    pub fn wrapper(&self, side: Side) -> Vec<String> {
        ["ip", "netns", "exec", self.ns(side)]
            .map(String::from)
            .to_vec()
    }

    /// A command that runs `program` on a side.
    pub fn command(&self, side: Side, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", self.ns(side)]).arg(program);
        command
    }
}

impl Drop for NetemLink {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it, and with it
        // the peer; a veth never moved into its namespace is deleted here.
        for ns in &self.namespaces {
            let _ = quiet("ip", &["netns", "del", ns]);
        }
        for dev in &self.devices {
            let _ = quiet("ip", &["link", "del", dev]);
        }
    }
}

/// Makes the link and prints how it is shaped, or prints why it cannot be
/// made (`skipped: …`) and returns `None`, so that the calling test passes
/// on machines without namespaces.
pub fn link_or_skip(shape: &LinkShape) -> Option<NetemLink> {
    match NetemLink::create(shape) {
        Ok(link) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "link shaped by {}",
                link.shaping()
            );
            Some(link)
        }
        Err(why) => {
            // Straight to the process's stderr, past the test harness's
            // capture, so that the skip shows in every run's output.
            let _ = writeln!(std::io::stderr().lock(), "{why}");
            None
        }
    }
}

fn check_tools() -> Result<(), Unavailable> {
    if !is_root() {
        return Err(Unavailable(
            "network namespaces need root (run the tests as root, as CI does)".into(),
        ));
    }
    for tool in ["ip", "tc"] {
        match Command::new(tool).arg("-V").output() {
            Ok(out) if out.status.success() => {}
            _ => {
                return Err(Unavailable(format!(
                    "`{tool}` is missing: install Debian's iproute2 (scripts/test does)"
                )));
            }
        }
    }
    Ok(())
}

fn is_root() -> bool {
    // The effective uid is the second number on the Uid: line.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|id| id == "0"))
        })
        .unwrap_or(false)
}

fn ip(args: &[&str]) -> Result<(), Unavailable> {
    run("ip", args)
}

fn run(program: &str, args: &[&str]) -> Result<(), Unavailable> {
    let out =
        quiet(program, args).map_err(|e| Unavailable(format!("cannot run {program}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Unavailable(format!(
        "`{program} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// Loads an nftables ruleset into a namespace.
fn nft(ns: &str, rules: &str) -> Result<(), Unavailable> {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Unavailable(format!("cannot run nft: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(rules.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Unavailable(format!("nft did not finish: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Unavailable(format!(
        "`nft` failed (install Debian's nftables; scripts/test does): {}",
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

fn quiet(program: &str, args: &[&str]) -> std::io::Result<Output> {
    Command::new(program).args(args).output()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rural_shape_becomes_netem_arguments() {
        assert_eq!(
            LinkShape::rural().netem_args().join(" "),
            "delay 150ms loss 3% rate 256kbit"
        );
    }
}
