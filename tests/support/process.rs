//! Real `motcua` processes for tests: a hub on a fresh data directory that
//! can be killed (SIGKILL, as in a power cut) and started again on the same
//! data, and the path of the binary for running `motcua sync` and friends.
//!
//! The binary is found next to the test executable (`target/<profile>/`),
//! where `cargo test --workspace` builds it; when it is not there, or the
//! sources are newer, [`motcua_bin`] runs `cargo build` for it once per test
//! process. `MOTCUA_BIN` overrides the path.
//!
//! ```no_run
//! use motcua_tests::process::{Hub, HubOptions};
//! let mut hub = Hub::start(HubOptions::demo()).unwrap();
//! let token = hub.device_tokens()[0].token.clone();
//! // … `motcua sync --server {hub.url()} --token {token} --data …`
//! hub.kill();
//! hub.restart().unwrap(); // same data, new port
//! ```

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context, bail};

/// How long a hub may take to print its address (a first start with
/// `--demo` hashes passwords and publishes the configuration).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The `motcua` binary, built if needed (once per test process).
pub fn motcua_bin() -> anyhow::Result<PathBuf> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| locate_or_build().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn locate_or_build() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("MOTCUA_BIN") {
        return Ok(PathBuf::from(bin));
    }
    // target/<profile>/deps/<test exe> → target/<profile>/motcua
    let exe = std::env::current_exe().context("locating the test executable")?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test executable is not under target/<profile>/deps")?;
    let bin = profile_dir.join(format!("motcua{}", std::env::consts::EXE_SUFFIX));
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    // Always ask cargo: it does nothing when the binary is up to date, and
    // it keeps a test from running an old hub after the sources changed.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the tests crate has no parent directory")?;
    let mut build = Command::new(cargo);
    build
        .current_dir(workspace)
        .args(["build", "--quiet", "-p", "server", "--bin", "motcua"])
        .env("CARGO_TARGET_DIR", target_dir(profile_dir));
    // Variables cargo set for this test process would look like a changed
    // environment to the build and rebuild the hub's dependencies.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
            || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"].contains(&&*name)
        {
            build.env_remove(&*name);
        }
    }
    if release {
        build.arg("--release");
    }
    let status = build.status().context("running cargo build for motcua")?;
    if !status.success() {
        bail!("cargo build -p server --bin motcua failed ({status})");
    }
    if !bin.exists() {
        bail!("{} is missing after building it", bin.display());
    }
    Ok(bin)
}

/// `target/<profile>` → `target` (or the host-triple directory's parent).
fn target_dir(profile_dir: &Path) -> PathBuf {
    profile_dir
        .parent()
        .map_or_else(|| profile_dir.to_path_buf(), Path::to_path_buf)
}

/// How to start a hub.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// Seed the demo province and print its device tokens.
    pub demo: bool,
    /// Address to listen on; default `127.0.0.1:0` (any free port).
    pub listen: Option<String>,
    /// More arguments for `motcua serve`.
    pub args: Vec<String>,
    /// A command the hub runs under, e.g. `["ip", "netns", "exec", "ns1"]`.
    pub wrapper: Vec<String>,
    /// Data directory to use instead of a fresh temporary one.
    pub data: Option<PathBuf>,
}

impl HubOptions {
    /// A hub with the demo province on a fresh data directory.
    pub fn demo() -> Self {
        Self {
            demo: true,
            ..Self::default()
        }
    }
}

/// A device token printed by `motcua serve --demo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoDevice {
    pub unit: String,
    pub token: String,
    pub name: String,
}

/// A running hub process. Dropping it kills the process; the temporary data
/// directory goes with it.
pub struct Hub {
    options: HubOptions,
    /// Holds the temporary directory (data and log) while the hub exists.
    _dir: Option<tempfile::TempDir>,
    data: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    addr: SocketAddr,
    output: Arc<Mutex<Vec<String>>>,
}

impl Hub {
    /// Starts `motcua serve` and waits until it listens.
    pub fn start(options: HubOptions) -> anyhow::Result<Hub> {
        let dir = tempfile::Builder::new()
            .prefix("motcua-hub-")
            .tempdir()
            .context("creating a temporary directory for the hub")?;
        let data = options
            .data
            .clone()
            .unwrap_or_else(|| dir.path().join("data"));
        let log = dir.path().join("hub.log");
        let mut hub = Hub {
            options,
            _dir: Some(dir),
            data,
            log,
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            output: Arc::default(),
        };
        hub.spawn()?;
        Ok(hub)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let bin = motcua_bin()?;
        let mut command = match self.options.wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        let listen = self.options.listen.as_deref().unwrap_or("127.0.0.1:0");
        command
            .arg("serve")
            .arg("--data")
            .arg(&self.data)
            .args(["--listen", listen]);
        if self.options.demo {
            command.arg("--demo");
        }
        command.args(&self.options.args);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .context("opening the hub's log file")?;
        let mut child = command
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("the hub has no stdout")?;
        self.child = Some(child);
        // Read stdout on a thread for the hub's whole life, so that the pipe
        // never fills and blocks it.
        let (found, listening) = mpsc::channel();
        let output = self.output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("motcua hub listening on ") {
                    let _ = found.send(addr.to_string());
                }
                output
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(line);
            }
        });
        let url = match listening.recv_timeout(START_TIMEOUT) {
            Ok(url) => url,
            Err(_) => {
                self.kill();
                bail!(
                    "the hub did not start within {START_TIMEOUT:?}; its log:\n{}",
                    self.log_text()
                );
            }
        };
        let host_port = url
            .split_once("://")
            .map_or(url.as_str(), |(_, rest)| rest)
            .trim_end_matches('/');
        self.addr = host_port
            .parse()
            .with_context(|| format!("the hub printed an address that is not one: {url}"))?;
        Ok(())
    }

    /// `http://ADDR`, for `motcua sync --server`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Everything the hub printed on stdout, over all its starts.
    pub fn output(&self) -> Vec<String> {
        self.output
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// What the hub logged (stderr), for failure messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The demo devices' tokens, in the order the hub printed them.
    pub fn device_tokens(&self) -> Vec<DemoDevice> {
        let mut seen = Vec::<DemoDevice>::new();
        for line in self.output() {
            let Some(token) = line.split_whitespace().find(|w| w.starts_with("mcd_")) else {
                continue;
            };
            let unit = line.split_whitespace().next().unwrap_or_default();
            let name = line
                .split_once(token)
                .map_or("", |(_, after)| after)
                .trim()
                .to_string();
            if !seen.iter().any(|d| d.token == token) {
                seen.push(DemoDevice {
                    unit: unit.to_string(),
                    token: token.to_string(),
                    name,
                });
            }
        }
        seen
    }

    /// SIGKILLs the hub (no clean shutdown) and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Starts the hub again on the same data directory (after [`Hub::kill`],
    /// or killing it first). With the default listen address the port
    /// changes: read [`Hub::url`] again.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.spawn()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill();
    }
}
