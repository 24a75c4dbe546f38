use tracing_subscriber::{fmt, EnvFilter};

/// Readable logs locally, JSON with `LOG_FORMAT=json`. `RUST_LOG` filters.
pub fn init() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    if std::env::var("LOG_FORMAT").as_deref() == Ok("json") {
        let _ = fmt().json().with_env_filter(filter).try_init();
    } else {
        let _ = fmt().with_env_filter(filter).try_init();
    }
}
