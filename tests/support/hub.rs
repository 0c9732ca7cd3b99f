//! Real `motcua` processes for tests: hubs on random loopback ports with
//! fresh SQLite files, and device replicas driven through the CLI.
//!
//! Every integration test starts what it needs through these helpers, so a
//! test reads like what a person would do: start a hub, enrol a tablet,
//! receive a dossier offline, sync.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

/// The `motcua` binary: `MOTCUA_BIN`, or built next to the test
/// executable (once per test process; a no-op when it is up to date).
pub fn motcua_bin() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BIN.get_or_init(|| locate_or_build().map_err(|e| format!("{e:#}"))) {
        Ok(path) => path.clone(),
        Err(e) => panic!("cannot build motcua: {e}"),
    }
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

/// Runs `motcua` with arguments; fails with its stderr when it fails.
pub fn motcua(args: &[&str]) -> anyhow::Result<Output> {
    let out = Command::new(motcua_bin())
        .args(args)
        .env("MOTCUA_LOG", "warn")
        .output()?;
    if !out.status.success() {
        bail!(
            "motcua {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

/// Runs `motcua` and parses its standard output as JSON.
pub fn motcua_json(args: &[&str]) -> anyhow::Result<Value> {
    let out = motcua(args)?;
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "motcua {} printed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A temporary directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "motcua-{prefix}-{}-{n}-{}",
            std::process::id(),
            nanos()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    pub demo: bool,
    pub tls_self_signed: bool,
    /// Address to listen on (default 127.0.0.1 on a free port).
    pub listen: Option<String>,
    /// A command the hub runs under, e.g. `["ip", "netns", "exec", "ns1"]`.
    pub wrapper: Vec<String>,
    /// Extra `motcua serve` arguments.
    pub args: Vec<String>,
    /// Environment variables for the hub (`MOTCUA_LOG` is `warn` unless set here).
    pub env: Vec<(String, String)>,
    /// Where the hub's standard error (its log) goes; inherited when `None`.
    pub stderr: Option<PathBuf>,
}

/// A running hub process; killed when dropped.
pub struct HubProcess {
    pub data: TempDir,
    options: HubOptions,
    child: Option<Child>,
    pub url: String,
    /// What the hub printed before it started listening (demo log-ins).
    pub banner: String,
    port: Option<u16>,
}

impl HubProcess {
    pub fn start(options: HubOptions) -> anyhow::Result<HubProcess> {
        Self::start_in(TempDir::new("hub"), options)
    }

    /// Starts a hub on a data directory prepared beforehand (units, users,
    /// enrolments written through the store).
    pub fn start_in(data: TempDir, options: HubOptions) -> anyhow::Result<HubProcess> {
        let mut hub = HubProcess {
            data,
            options,
            child: None,
            url: String::new(),
            banner: String::new(),
            port: None,
        };
        hub.spawn()?;
        Ok(hub)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        // A restart keeps its port so devices' saved addresses stay valid.
        let host = self
            .options
            .listen
            .as_deref()
            .and_then(|l| l.rsplit_once(':'))
            .map_or("127.0.0.1", |(h, _)| h)
            .to_string();
        let listen = match self.port {
            Some(port) => format!("{host}:{port}"),
            None => format!("{host}:0"),
        };
        let data = self.data.path().to_string_lossy().to_string();
        let mut args = vec!["serve", "--data", &data, "--listen", &listen];
        if self.options.demo {
            args.push("--demo");
        }
        if self.options.tls_self_signed {
            args.push("--tls-self-signed");
        }
        let extra: Vec<&str> = self.options.args.iter().map(String::as_str).collect();
        args.extend(extra);
        let bin = motcua_bin().to_string_lossy().to_string();
        let mut command = match self.options.wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        let stderr = match &self.options.stderr {
            // Appended to, so a restarted hub's lines follow the first run's.
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?,
            ),
            None => Stdio::inherit(),
        };
        let mut child = command
            .args(&args)
            .env("MOTCUA_LOG", "warn")
            .envs(self.options.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .context("starting motcua serve")?;
        let stdout = child.stdout.take().context("hub stdout")?;
        let mut reader = BufReader::new(stdout);
        let mut banner = String::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                bail!("the hub exited before listening:\n{banner}");
            }
            if let Some(url) = line.trim().strip_prefix("motcua hub listening on ") {
                break url.to_string();
            }
            banner.push_str(&line);
            if Instant::now() > deadline {
                bail!("the hub did not start listening in time");
            }
        };
        // Keep draining stdout so the hub never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        self.port = url.rsplit(':').next().and_then(|p| p.parse().ok());
        self.url = url;
        if !banner.is_empty() {
            self.banner = banner;
        }
        self.child = Some(child);
        Ok(())
    }

    /// The address the hub listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        let authority = self.url.split("://").nth(1).unwrap_or_default();
        authority.parse().expect("the hub prints host:port")
    }

    /// The hub's process id, while it runs (to read its memory use).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The demo devices printed at start: (unit, token).
    pub fn device_tokens(&self) -> Vec<(String, String)> {
        self.banner
            .lines()
            .filter_map(|l| {
                let mut parts = l.split_whitespace();
                match (parts.next(), parts.next()) {
                    (Some(u), Some(t)) if t.starts_with("mcd_") => {
                        Some((u.to_string(), t.to_string()))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// SIGKILL: no chance to flush or shut down cleanly.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.spawn()
    }

    pub fn data_dir(&self) -> String {
        self.data.path().to_string_lossy().to_string()
    }

    /// The self-signed certificate, when serving TLS.
    pub fn cert_path(&self) -> PathBuf {
        self.data.path().join("tls").join("cert.pem")
    }

    /// Demo device tokens of one unit, in the order printed.
    pub fn demo_tokens(&self, unit: &str) -> Vec<String> {
        self.device_tokens()
            .into_iter()
            .filter(|(u, _)| u == unit)
            .map(|(_, t)| t)
            .collect()
    }

    /// `motcua admin … --data <this hub>` and its JSON output.
    pub fn admin(&self, args: &[&str]) -> anyhow::Result<Value> {
        let data = self.data_dir();
        let mut all = vec!["admin", "--data", &data];
        all.extend_from_slice(args);
        motcua_json(&all)
    }

    /// A one-time enrolment code for a new device of `unit`.
    pub fn enrolment_code(&self, unit: &str) -> anyhow::Result<String> {
        let v = self.admin(&["enrolment", "--unit", unit, "--name", "test device"])?;
        Ok(v["code"].as_str().context("no code")?.to_string())
    }

    /// A fresh device enrolled for `unit`.
    pub fn enrol_device(&self, unit: &str) -> anyhow::Result<Device> {
        let device = Device::new();
        let code = self.enrolment_code(unit)?;
        let data = device.data();
        let mut args = vec![
            "enrol", "--server", &self.url, "--code", &code, "--data", &data,
        ];
        let cert = self.cert_path().to_string_lossy().to_string();
        if self.options.tls_self_signed {
            args.extend(["--ca-cert", &cert]);
        }
        motcua_json(&args)?;
        Ok(device)
    }

    /// GET an API path; returns (status, body).
    pub fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<(u16, Value)> {
        http(&self.url, "GET", path, token, None)
    }

    pub fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<(u16, Value)> {
        http(&self.url, "POST", path, token, Some(body))
    }

    pub fn put(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<(u16, Value)> {
        http(&self.url, "PUT", path, token, Some(body))
    }

    /// GET an API path as it came: (status, header lines, body bytes).
    pub fn get_raw(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> anyhow::Result<(u16, String, Vec<u8>)> {
        let headers: Vec<(&str, String)> = token
            .map(|t| ("Authorization", format!("Bearer {t}")))
            .into_iter()
            .collect();
        http_raw(&self.url, "GET", path, &headers, b"")
    }

    /// Logs a user in and returns the session token.
    pub fn login(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let (status, body) = self.post(
            "/api/login",
            None,
            &serde_json::json!({ "username": username, "password": password }),
        )?;
        if status != 200 {
            bail!("login failed ({status}): {body}");
        }
        Ok(body["token"].as_str().context("no token")?.to_string())
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A minimal HTTP/1.1 client for plain-HTTP test hubs; the body as JSON
/// (or as a JSON string when it is not JSON).
pub fn http(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value)> {
    http_with_head(base, method, path, token, body).map(|(status, _, value)| (status, value))
}

/// [`http`], also returning the response's head (status line and headers,
/// header names lowercased).
pub fn http_with_head(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> anyhow::Result<(u16, String, Value)> {
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut headers = vec![("Content-Type", "application/json".to_string())];
    if let Some(t) = token {
        headers.push(("Authorization", format!("Bearer {t}")));
    }
    let (status, head, body) = http_raw(base, method, path, &headers, payload.as_bytes())?;
    let body = String::from_utf8_lossy(&body);
    let value = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).unwrap_or(Value::String(body.to_string()))
    };
    Ok((status, head, value))
}

/// One plain HTTP/1.1 request with the given headers; returns the status,
/// An HTTP response's head with header names lowercased, values as sent.
pub fn response_head(head: &str) -> String {
    head.lines()
        .map(|line| match line.split_once(':') {
            Some((name, value)) => format!("{}:{value}", name.to_lowercase()),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// the head (header names lowercased) and the body's bytes as sent.
pub fn http_raw(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    payload: &[u8],
) -> anyhow::Result<(u16, String, Vec<u8>)> {
    use std::io::{Read, Write};
    let authority = base
        .strip_prefix("http://")
        .context("http() speaks plain HTTP only")?;
    let mut stream = std::net::TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    ));
    stream.write_all(request.as_bytes())?;
    stream.write_all(payload)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no HTTP response")?;
    let head = response_head(&String::from_utf8_lossy(&response[..split]));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("bad status line")?;
    Ok((status, head, response[split + 4..].to_vec()))
}

/// A device replica in its own directory, driven through the CLI.
pub struct Device {
    dir: TempDir,
}

impl Default for Device {
    fn default() -> Self {
        Self::new()
    }
}

impl Device {
    pub fn new() -> Device {
        Device {
            dir: TempDir::new("device"),
        }
    }

    pub fn data(&self) -> String {
        self.dir.path().to_string_lossy().to_string()
    }

    /// Syncs once with the hub the device was enrolled with.
    pub fn sync(&self) -> anyhow::Result<Value> {
        let data = self.data();
        motcua_json(&["sync", "--data", &data])
    }

    /// Syncs once with an explicit hub and token.
    pub fn sync_with(
        &self,
        url: &str,
        token: &str,
        ca_cert: Option<&Path>,
    ) -> anyhow::Result<Value> {
        let data = self.data();
        let cert = ca_cert.map(|c| c.to_string_lossy().to_string());
        let mut args = vec!["sync", "--server", url, "--token", token, "--data", &data];
        if let Some(cert) = &cert {
            args.extend(["--ca-cert", cert]);
        }
        motcua_json(&args)
    }

    /// Receives a dossier offline; returns its code.
    pub fn receive(&self, procedure: &str, name: &str) -> anyhow::Result<String> {
        self.receive_with(procedure, name, &["--user", "canbo"])
    }

    /// Receives a dossier offline at a given time (RFC 3339), with further
    /// `motcua dossier receive` arguments; returns its code.
    pub fn receive_at(
        &self,
        procedure: &str,
        name: &str,
        at: &str,
        extra: &[&str],
    ) -> anyhow::Result<String> {
        let mut args = vec!["--received-at", at];
        args.extend_from_slice(extra);
        self.receive_with(procedure, name, &args)
    }

    fn receive_with(&self, procedure: &str, name: &str, extra: &[&str]) -> anyhow::Result<String> {
        let data = self.data();
        let mut args = vec![
            "dossier",
            "receive",
            "--data",
            &data,
            "--procedure",
            procedure,
            "--name",
            name,
            "--id-number",
            "001203001234",
        ];
        args.extend_from_slice(extra);
        let v = motcua_json(&args)?;
        Ok(v["code"].as_str().context("no code")?.to_string())
    }

    /// Records a stage that happened at `at` (RFC 3339), by `user`.
    pub fn stage_at(&self, code: &str, stage: &str, at: &str, user: &str) -> anyhow::Result<Value> {
        let data = self.data();
        motcua_json(&[
            "dossier", "stage", "--data", &data, code, stage, "--at", at, "--user", user,
        ])
    }

    pub fn stage(&self, code: &str, stage: &str) -> anyhow::Result<Value> {
        let data = self.data();
        motcua_json(&[
            "dossier", "stage", "--data", &data, code, stage, "--user", "canbo",
        ])
    }

    /// The dossiers on this device.
    pub fn list(&self) -> anyhow::Result<Vec<Value>> {
        let data = self.data();
        let v = motcua_json(&["dossier", "list", "--data", &data, "--json"])?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    pub fn show(&self, code: &str) -> anyhow::Result<Value> {
        let data = self.data();
        motcua_json(&["dossier", "show", "--data", &data, code])
    }

    /// Starts `motcua sync --watch` in the background; stopped on drop.
    pub fn watch(&self) -> anyhow::Result<Watcher> {
        let data = self.data();
        let child = Command::new(motcua_bin())
            .args(["sync", "--watch", "--data", &data])
            .env("MOTCUA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Watcher(child))
    }
}

/// A background `motcua sync --watch`.
pub struct Watcher(Child);

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` until it returns true or `timeout` passes.
pub fn eventually(
    timeout: Duration,
    mut check: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if check()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("condition not reached in {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl HubProcess {
    /// A hub below `parent` for `unit`, syncing up to it.
    pub fn start_below(parent: &HubProcess, unit: &str) -> anyhow::Result<HubProcess> {
        let code = parent.admin(&[
            "enrolment",
            "--unit",
            unit,
            "--name",
            &format!("hub {unit}"),
            "--hub",
        ])?;
        let code = code["code"].as_str().context("enrolment code")?.to_string();
        let hub = HubProcess::start(HubOptions {
            args: vec![
                "--uplink".into(),
                parent.url.clone(),
                "--uplink-code".into(),
                code,
            ],
            ..HubOptions::default()
        })?;
        // Ready once the unit tree came down from the parent.
        eventually(Duration::from_secs(30), || {
            Ok(hub.enrolment_code(unit).is_ok())
        })?;
        Ok(hub)
    }

    /// Document id → heads for every document of `unit` (or every document).
    pub fn heads(
        &self,
        unit: Option<&str>,
    ) -> anyhow::Result<std::collections::BTreeMap<String, Value>> {
        let docs = self.admin(&["documents"])?;
        Ok(docs
            .as_object()
            .context("documents")?
            .iter()
            .filter(|(_, d)| unit.is_none_or(|u| d["unit"] == u))
            .map(|(id, d)| (id.clone(), d["heads"].clone()))
            .collect())
    }
}

impl Device {
    /// Document id → heads for every document of `unit` (or every document).
    pub fn heads(
        &self,
        unit: Option<&str>,
    ) -> anyhow::Result<std::collections::BTreeMap<String, Value>> {
        let data = self.data();
        let state = motcua_json(&["state", "--data", &data])?;
        Ok(state["documents"]
            .as_object()
            .context("documents")?
            .iter()
            .filter(|(_, d)| unit.is_none_or(|u| d["unit"] == u))
            .map(|(id, d)| (id.clone(), d["heads"].clone()))
            .collect())
    }
}

/// A setting from a device's own database (token, actor, device_id, …).
pub fn device_setting(device: &Device, key: &str) -> anyhow::Result<String> {
    let conn = rusqlite::Connection::open(Path::new(&device.data()).join("device.sqlite"))?;
    Ok(
        conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })?,
    )
}
