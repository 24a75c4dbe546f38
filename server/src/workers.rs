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

/// Starts the domain-events dispatcher (Telegram notices and, later, every
/// other subscriber): woken by each emitted event, and every second.
pub fn start_domain_events(pool: PgPool) {
    tokio::spawn(domain::events::listen_and_dispatch(pool));
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

static TELEGRAM_WAKE: std::sync::LazyLock<tokio::sync::Notify> = std::sync::LazyLock::new(tokio::sync::Notify::new);

/// Wakes the update processors at once (a webhook just stored an update);
/// they also look every 100 ms for updates other instances stored.
pub fn wake_telegram() {
    TELEGRAM_WAKE.notify_waiters();
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Starts the Telegram workers: update processors (`TELEGRAM_WORKERS`,
/// default one more than the cores, in parallel across chats), the sender,
/// delayed steps, and one long poller per enabled bot without a webhook.
/// More processors than that only compete for the same rows and cores
/// (measured: 8 on 2 cores gave 2,500 updates/s, 3 gave 2,950–3,100).
pub fn start_telegram(tg: domain::telegram::Telegram) {
    use domain::telegram;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let workers: usize = env_num("TELEGRAM_WORKERS", cores + 1);
    for _ in 0..workers {
        let tg = tg.clone();
        tokio::spawn(async move {
            loop {
                let wake = TELEGRAM_WAKE.notified();
                match telegram::process_pending(&tg, 500).await {
                    Ok(n) if n > 0 => {
                        wake_sender();
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "telegram updates: will retry"),
                }
                let _ = tokio::time::timeout(Duration::from_millis(100), wake).await;
            }
        });
    }
    let limits = telegram::SendLimits {
        chat_interval: Duration::from_millis(env_num("TELEGRAM_CHAT_INTERVAL_MS", 1000)),
        bot_rate: env_num("TELEGRAM_BOT_RATE", 30.0),
    };
    let senders: usize = env_num("TELEGRAM_SENDERS", 2);
    let buckets = telegram::BotBuckets::default();
    for _ in 0..senders {
        let (tg, limits, buckets) = (tg.clone(), limits.clone(), buckets.clone());
        tokio::spawn(async move {
            loop {
                let wake = SENDER_WAKE.notified();
                match telegram::send_pending(&tg, 64, &limits, &buckets).await {
                    Ok(r) if r.sent + r.failed + r.retrying > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "telegram sender: will retry"),
                }
                let _ = tokio::time::timeout(Duration::from_millis(100), wake).await;
            }
        });
    }
    {
        let tg = tg.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                match telegram::resume_due(&tg, 100).await {
                    Ok(n) if n > 0 => wake_sender(),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "delayed flow steps: will retry"),
                }
            }
        });
    }
    tokio::spawn(pollers(tg));
}

static SENDER_WAKE: std::sync::LazyLock<tokio::sync::Notify> = std::sync::LazyLock::new(tokio::sync::Notify::new);

fn wake_sender() {
    SENDER_WAKE.notify_waiters();
}

/// Keeps one long poller per enabled bot without a webhook; a poller stops
/// when its bot is disabled, deleted or gets a webhook. Across instances a
/// PostgreSQL advisory lock lets only one of them poll a bot.
async fn pollers(tg: domain::telegram::Telegram) {
    use std::collections::HashMap;
    let timeout: u32 = env_num("TELEGRAM_POLL_TIMEOUT", 25);
    let mut running: HashMap<uuid::Uuid, tokio::task::JoinHandle<()>> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let wanted = match domain::telegram::bots_to_poll(&tg).await {
            Ok(w) => w
                .into_iter()
                .map(|t| t.bot_id)
                .collect::<std::collections::HashSet<_>>(),
            Err(e) => {
                tracing::warn!(error = %e, "bots to poll: will retry");
                continue;
            }
        };
        running.retain(|id, h| {
            let keep = wanted.contains(id) && !h.is_finished();
            if !keep {
                h.abort();
            }
            keep
        });
        for id in wanted {
            if running.contains_key(&id) {
                continue;
            }
            let tg = tg.clone();
            running.insert(
                id,
                tokio::spawn(async move {
                    if let Err(e) = domain::telegram::poll_forever(&tg, id, timeout, wake_telegram).await {
                        tracing::warn!(bot = %id, error = %e, "poller stopped");
                    }
                    // Another instance holds the bot, or the poller failed: look again later.
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }),
            );
        }
    }
}
