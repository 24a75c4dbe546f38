use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::{fmt, EnvFilter};

/// Readable logs locally, JSON lines when `json` (`config::log_json`);
/// also appended to `file` when given (`LOG_FILE`). `RUST_LOG` filters, as
/// everywhere in the tracing world.
pub fn init(json: bool, file: Option<&Path>) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let file = file.and_then(
        |path| match std::fs::OpenOptions::new().create(true).append(true).open(path) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("LOG_FILE {}: {e}; logging to stderr only", path.display());
                None
            }
        },
    );
    match (json, file) {
        (true, Some(f)) => {
            let _ = fmt()
                .json()
                .with_env_filter(filter)
                .with_writer(std::io::stderr.and(Mutex::new(f)))
                .try_init();
        }
        (false, Some(f)) => {
            let _ = fmt()
                .with_env_filter(filter)
                .with_ansi(false)
                .with_writer(std::io::stderr.and(Mutex::new(f)))
                .try_init();
        }
        (true, None) => {
            let _ = fmt().json().with_env_filter(filter).try_init();
        }
        (false, None) => {
            let _ = fmt().with_env_filter(filter).try_init();
        }
    }
}
