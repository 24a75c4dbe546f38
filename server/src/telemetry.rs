use tracing_subscriber::{fmt, EnvFilter};

/// Readable logs locally, JSON lines when `json` (`config::log_json`).
/// `RUST_LOG` filters, as everywhere in the tracing world.
pub fn init(json: bool) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    if json {
        let _ = fmt().json().with_env_filter(filter).try_init();
    } else {
        let _ = fmt().with_env_filter(filter).try_init();
    }
}
