//! Background workers. Each claims its work in PostgreSQL, so any number of
//! instances can run them and a restart loses nothing.

use std::time::Duration;

use sqlx::PgPool;

/// Starts the import worker: claims queued (or abandoned) imports one by one.
pub fn start_imports(pool: PgPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            loop {
                match domain::imports::run_once(&pool).await {
                    Ok(Some(job)) => tracing::info!(%job, "import finished"),
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = ?e, "import worker failed; will retry");
                        break;
                    }
                }
            }
        }
    });
}

/// Starts the task-reminder worker (every `REMINDER_INTERVAL_MS`, default 2 s).
pub fn start(pool: PgPool) {
    let every = std::env::var("REMINDER_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(every));
        loop {
            tick.tick().await;
            match domain::tasks::run_due_reminders(&pool).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sent = n, "task reminders sent"),
                Err(e) => tracing::warn!(error = %e, "task reminders failed; will retry"),
            }
        }
    });
}

/// Rebuilds any extra-field index a crash left missing or invalid (the
/// build is concurrent, outside a transaction, so it can be interrupted).
pub fn heal_field_indexes(pool: PgPool) {
    tokio::spawn(async move {
        let fields = match domain::leads::custom_fields(&pool).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = ?e, "could not read extra fields");
                return;
            }
        };
        for f in fields {
            if let Err(e) = domain::leads::ensure_index(&pool, &f.key).await {
                tracing::warn!(error = ?e, key = %f.key, "extra field index not built");
            }
        }
    });
}
