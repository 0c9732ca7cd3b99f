//! Where log lines go and how they look: standard error, as text for a
//! person or one JSON object a line for a log collector
//! (`motcua serve --log-format json`). `MOTCUA_LOG` filters them
//! (`tracing_subscriber::EnvFilter` syntax).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Lines for a person to read.
    #[default]
    Text,
    /// One JSON object a line, with the fields of the spans it was logged
    /// in (the request id of an HTTP request or a sync session).
    Json,
}

/// Installs the process's log subscriber; call once, first thing.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("MOTCUA_LOG").unwrap_or_else(|_| "warn,server=info".into());
    // Colours only for a terminal: a journal or a file would keep the escapes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
