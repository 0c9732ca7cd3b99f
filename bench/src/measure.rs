//! Measuring processes: wall time and peak memory of a command run to its
//! end, peak memory of a process that keeps running, and the conditions of
//! the machine (cores, memory, load) to print beside the figures.
//!
//! A finished child's peak resident set comes from the kernel's accounting
//! (`wait4`'s `ru_maxrss`); a running one's from `VmHWM` in
//! `/proc/<pid>/status`, which `clear_refs` resets between workloads.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// What a command did, measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Run {
    pub wall_s: f64,
    /// Peak resident memory, in KiB.
    pub peak_rss_kib: u64,
    #[serde(skip)]
    pub stdout: String,
    /// Stopped at the time limit.
    pub timed_out: bool,
    /// The last `progress <done> <total>` line it printed on stderr.
    pub progress: Option<(u64, u64)>,
}

impl Run {
    /// The last line of standard output, as JSON.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        let line = self.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line).with_context(|| format!("not a JSON report: {}", self.stdout))
    }
}

/// Runs `command` to its end (or until `limit`, then kills it), measuring
/// its wall time and peak memory. Fails when it exits unsuccessfully.
pub fn run(command: &mut Command, limit: Option<Duration>) -> anyhow::Result<Run> {
    let what = format!("{command:?}");
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.take().context("stdout")?;
    let stderr = child.stderr.take().context("stderr")?;
    let out_thread = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let progress = Arc::new(Mutex::new(None));
    let errors = Arc::new(Mutex::new(String::new()));
    let err_thread = {
        let (progress, errors) = (progress.clone(), errors.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("progress ") {
                    let mut numbers = rest.split_whitespace().filter_map(|n| n.parse().ok());
                    if let (Some(done), Some(total)) = (numbers.next(), numbers.next()) {
                        *progress.lock().unwrap_or_else(|p| p.into_inner()) = Some((done, total));
                    }
                    continue;
                }
                let mut errors = errors.lock().unwrap_or_else(|p| p.into_inner());
                // Keep the end of a long error output.
                if errors.len() > 64 * 1024 {
                    errors.drain(..32 * 1024);
                }
                errors.push_str(&line);
                errors.push('\n');
            }
        })
    };
    let (status, rusage, timed_out) = wait_with_limit(pid, limit)?;
    let wall_s = started.elapsed().as_secs_f64();
    // The child owned the pipes; it is gone, so both readers end.
    let stdout = out_thread.join().unwrap_or_default();
    let _ = err_thread.join();
    let _ = child.try_wait();
    let progress = *progress.lock().unwrap_or_else(|p| p.into_inner());
    let errors = errors.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let succeeded = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if !timed_out && !succeeded {
        bail!("{what} failed ({status}):\n{errors}{stdout}");
    }
    Ok(Run {
        wall_s,
        peak_rss_kib: rusage.ru_maxrss as u64,
        stdout,
        timed_out,
        progress,
    })
}

/// Waits for `pid`, killing it (and its children) at `limit`.
fn wait_with_limit(
    pid: libc::pid_t,
    limit: Option<Duration>,
) -> anyhow::Result<(i32, libc::rusage, bool)> {
    let started = Instant::now();
    let mut timed_out = false;
    loop {
        let mut status = 0;
        // SAFETY: plain system call on our own child, with valid pointers.
        let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if limit.is_some() { libc::WNOHANG } else { 0 };
        let done = unsafe { libc::wait4(pid, &mut status, flags, &mut rusage) };
        if done == pid {
            return Ok((status, rusage, timed_out));
        }
        if done < 0 {
            bail!(
                "waiting for process {pid}: {}",
                std::io::Error::last_os_error()
            );
        }
        if let Some(limit) = limit
            && !timed_out
            && started.elapsed() > limit
        {
            timed_out = true;
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A field of `/proc/<pid>/status` in KiB (`VmHWM`, `VmRSS`).
fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading the status of process {pid}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim_start_matches(':').split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no {field} for process {pid}"))
}

/// The peak resident memory of a running process since it started (or
/// since [`reset_peak`]), in KiB.
pub fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmHWM")
}

/// The resident memory of a running process now, in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmRSS")
}

/// Starts a process's peak memory afresh (`echo 5 > /proc/<pid>/clear_refs`),
/// so that the next reading is the peak of one workload. Where the kernel
/// refuses, readings keep the peak since the process started.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Polls a running process's resident memory and kills it past `cap_kib`,
/// so that a peer that balloons cannot take the machine down. Returns a
/// flag that says whether it did.
pub fn memory_guard(pid: u32, cap_kib: u64) -> Arc<std::sync::atomic::AtomicBool> {
    let tripped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = tripped.clone();
    std::thread::spawn(move || {
        while let Ok(rss) = rss_kib(pid) {
            if rss > cap_kib {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                // SAFETY: signalling a process this benchmark started.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    tripped
}

/// The machine the figures were measured on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
}

impl Machine {
    pub fn here() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|s| s.trim_start_matches([' ', '\t', ':']).trim().to_string())
            .unwrap_or_else(|| "unknown CPU".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|s| s.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string();
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: (memory_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel,
        }
    }

    /// One short line for the table.
    pub fn summary(&self) -> String {
        format!("{} cores, {} GiB", self.cores, self.memory_gib)
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut parts = text.split_whitespace().filter_map(|n| n.parse().ok());
    [
        parts.next().unwrap_or(0.0),
        parts.next().unwrap_or(0.0),
        parts.next().unwrap_or(0.0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_command_reports_its_output_time_and_memory() {
        let run = run(
            Command::new("sh").args(["-c", "echo progress 3 7 >&2; echo '{\"a\":1}'"]),
            None,
        )
        .unwrap();
        assert_eq!(run.json().unwrap()["a"], 1);
        assert_eq!(run.progress, Some((3, 7)));
        assert!(run.peak_rss_kib > 0);
        assert!(!run.timed_out);
    }

    #[test]
    fn a_command_past_its_limit_is_stopped_and_says_so() {
        let run = run(
            Command::new("sleep").arg("30"),
            Some(Duration::from_millis(200)),
        )
        .unwrap();
        assert!(run.timed_out);
    }

    #[test]
    fn a_failing_command_is_an_error_with_its_output() {
        let error = run(
            Command::new("sh").args(["-c", "echo broken >&2; exit 3"]),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("broken"), "{error}");
    }

    #[test]
    fn a_running_process_has_a_peak_and_a_current_memory() {
        let me = std::process::id();
        assert!(peak_rss_kib(me).unwrap() >= rss_kib(me).unwrap() / 2);
    }
}
