//! Background workers, as one table (`table`). Each claims its work in
//! PostgreSQL, so any number of instances can run them and a restart loses
//! nothing. They start with the server (`Application::run_until_stopped`)
//! and stop with it: on shutdown each finishes the unit of work in hand
//! (a batch commits or rolls back), and what is still running after the
//! grace period is dropped — its transaction rolls back and is redone.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use domain::Services;
use secrecy::{ExposeSecret, SecretString};

use crate::config::WorkerSettings;

/// One unit of work; how many things it did (0: nothing to do now).
type RunOnce = Arc<dyn Fn() -> BoxFuture<'static, Result<usize, String>> + Send + Sync>;

enum Run {
    /// Repeats `once` while it finds work; when idle waits `every` or
    /// until woken.
    Loop {
        copies: usize,
        every: Duration,
        wake: Option<&'static Notify>,
        once: RunOnce,
    },
    /// Runs for the life of the server (it has its own loop).
    Service(BoxFuture<'static, ()>),
    /// Runs once at start.
    Once(BoxFuture<'static, ()>),
}

struct Worker {
    name: &'static str,
    run: Run,
}

fn once<F, Fut, E>(f: F) -> RunOnce
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<usize, E>> + Send + 'static,
    E: std::fmt::Display,
{
    Arc::new(move || f().map(|r| r.map_err(|e| e.to_string())).boxed())
}

/// `once` for a step that reads the services: `f` gets its own clone each run.
fn with_services<F, Fut, E>(services: &Services, f: F) -> RunOnce
where
    F: Fn(Services) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<usize, E>> + Send + 'static,
    E: std::fmt::Display,
{
    let services = services.clone();
    once(move || f(services.clone()))
}

/// Every background worker of the server.
fn table(services: &Services, settings: &WorkerSettings, outreach_bot: Option<SecretString>) -> Vec<Worker> {
    use domain::telegram;
    let pool = services.pool.clone();
    let tg = services.telegram.clone();
    let limits = telegram::SendLimits {
        chat_interval: settings.telegram_chat_interval,
        bot_rate: settings.telegram_bot_rate,
    };
    let buckets = telegram::Pacer::default();
    let pacer = buckets.clone();
    let mut all = vec![
        Worker {
            name: "task reminders",
            run: Run::Loop {
                copies: 1,
                every: settings.reminder_interval,
                wake: None,
                once: once({
                    let pool = pool.clone();
                    move || {
                        let pool = pool.clone();
                        async move { domain::tasks::run_due_reminders(&pool).await }
                    }
                }),
            },
        },
        Worker {
            name: "imports",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_millis(500),
                wake: None,
                once: once({
                    let pool = pool.clone();
                    move || {
                        let pool = pool.clone();
                        async move {
                            let job = domain::imports::run_once(&pool).await?;
                            if let Some(job) = job {
                                tracing::info!(%job, "import finished");
                            }
                            Ok::<_, domain::imports::ImportError>(usize::from(job.is_some()))
                        }
                    }
                }),
            },
        },
        Worker {
            // Due lots, each closed in one transaction (claimed with SKIP
            // LOCKED): exactly once across instances and restarts. A lot's
            // countdown ends on a second, so it is looked for every 500 ms.
            name: "auction closing",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_millis(500),
                wake: None,
                once: once({
                    let pool = pool.clone();
                    move || {
                        let pool = pool.clone();
                        async move { domain::auction::close_due(&pool).await }
                    }
                }),
            },
        },
        Worker {
            // Rules that put arriving leads up by themselves.
            name: "auction rules",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_secs(5),
                wake: None,
                once: once({
                    let pool = pool.clone();
                    move || {
                        let pool = pool.clone();
                        async move { domain::auction::apply_rules(&pool).await }
                    }
                }),
            },
        },
        Worker {
            // Month-end grades: the first run in a month recomputes them
            // (once across instances: the month's row commits with them).
            name: "grades month-end",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_secs(600),
                wake: None,
                once: once({
                    let pool = pool.clone();
                    move || {
                        let pool = pool.clone();
                        async move {
                            domain::commissions::run_monthly(&pool)
                                .await
                                .map(|r| usize::from(r.is_some()))
                        }
                    }
                }),
            },
        },
        Worker {
            // Saved reports sent on a schedule: each due one goes once
            // (claimed with SKIP LOCKED, moved on in the same transaction).
            name: "scheduled reports",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_secs(60),
                wake: None,
                once: once({
                    let pool = pool.clone();
                    move || {
                        let pool = pool.clone();
                        async move { domain::reports::send_due(&pool).await }
                    }
                }),
            },
        },
        Worker {
            // The agreement of every approved partner and office that has
            // none yet (claimed card by card, so instances share the work).
            name: "agreements",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_secs(2),
                wake: None,
                once: once({
                    let (pool, storage, renderer) = (pool.clone(), services.storage.clone(), services.renderer.clone());
                    move || {
                        let (pool, storage, renderer) = (pool.clone(), storage.clone(), renderer.clone());
                        async move {
                            domain::contracts::issue_missing_agreements(&pool, storage.as_ref(), renderer.as_ref())
                                .await
                        }
                    }
                }),
            },
        },
        Worker {
            // Outgoing webhooks: due deliveries claimed under a lease,
            // posted side by side, each answer recorded at once; two
            // copies, so one slow receiver doesn't hold up the rest.
            name: "webhook deliveries",
            run: Run::Loop {
                copies: 2,
                every: Duration::from_secs(1),
                wake: None,
                once: once({
                    let (pool, cipher) = (pool.clone(), services.cipher.clone());
                    let client = domain::integrations::webhooks::DeliveryClient::new(settings.webhook_timeout);
                    move || {
                        let (pool, cipher, client) = (pool.clone(), cipher.clone(), client.clone());
                        async move { domain::integrations::webhooks::deliver_due(&pool, &cipher, &client, 32).await }
                    }
                }),
            },
        },
        Worker {
            // Questions users paid for: claimed under a lease as soon as
            // processed updates ring (or every 250 ms), each claim asked in
            // a task of its own so the AI's latency overlaps instead of
            // queueing newer questions behind older ones.
            name: "assistant answers",
            run: Run::Service(
                domain::assistant::run_answering(
                    tg.clone(),
                    domain::ai::RetryPolicy::default(),
                    &AI_WAKE,
                    Duration::from_millis(250),
                    2000,
                )
                .boxed(),
            ),
        },
        Worker {
            // The initial amoCRM import: whichever instance takes the
            // running import's lease reads and writes it to its end.
            name: "amocrm import",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_secs(1),
                wake: None,
                once: with_services(services, |s| async move {
                    domain::integrations::amocrm::run_import(&s.pool, &s.cipher, &s.amocrm, None)
                        .await
                        .map(usize::from)
                }),
            },
        },
        Worker {
            // amoCRM's webhooks, kept by the route: the leads they name read
            // again and applied.
            name: "amocrm webhooks",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_millis(500),
                wake: None,
                once: with_services(services, |s| async move {
                    domain::integrations::amocrm::process_inbox(&s.pool, &s.cipher, &s.amocrm).await
                }),
            },
        },
        Worker {
            // Our changes out to amoCRM (the domain events' outbox).
            name: "amocrm outbox",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_millis(500),
                wake: None,
                once: with_services(services, |s| async move {
                    domain::integrations::amocrm::push_due(&s.pool, &s.cipher, &s.amocrm, 50).await
                }),
            },
        },
        Worker {
            // What webhooks lost: leads updated since the last pull.
            name: "amocrm pull",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_secs(60),
                wake: None,
                once: with_services(services, |s| async move {
                    domain::integrations::amocrm::pull_once(&s.pool, &s.cipher, &s.amocrm)
                        .await
                        // One pull a minute, whatever it found.
                        .map(|_| 0usize)
                }),
            },
        },
        Worker {
            // The nightly comparison of both sides (due once a day).
            name: "amocrm reconcile",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_secs(3600),
                wake: None,
                once: with_services(services, |s| async move {
                    domain::integrations::amocrm::reconcile_due(&s.pool, &s.cipher, &s.amocrm)
                        .await
                        .map(|_| 0usize)
                }),
            },
        },
        Worker {
            // The webhook log keeps finished deliveries for 30 days.
            name: "webhook log purge",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_secs(3600),
                wake: None,
                once: once({
                    let pool = pool.clone();
                    move || {
                        let pool = pool.clone();
                        async move { domain::integrations::webhooks::purge_log(&pool, 30).await }
                    }
                }),
            },
        },
        Worker {
            name: "domain events",
            run: Run::Service(domain::events::listen_and_dispatch(pool.clone()).boxed()),
        },
        Worker {
            name: "extra field indexes",
            run: Run::Once(heal_field_indexes(pool.clone()).boxed()),
        },
        Worker {
            name: "telegram updates",
            run: Run::Loop {
                copies: settings.telegram_processors,
                every: Duration::from_millis(100),
                wake: Some(&TELEGRAM_WAKE),
                once: once({
                    let tg = tg.clone();
                    move || {
                        let tg = tg.clone();
                        async move {
                            let n = telegram::process_pending(&tg, 500).await?;
                            if n > 0 {
                                SENDER_WAKE.notify_waiters();
                                AI_WAKE.notify_waiters();
                            }
                            Ok::<_, telegram::TelegramError>(n)
                        }
                    }
                }),
            },
        },
        Worker {
            name: "telegram sender",
            run: Run::Loop {
                copies: settings.telegram_senders,
                every: Duration::from_millis(100),
                wake: Some(&SENDER_WAKE),
                once: once({
                    let tg = tg.clone();
                    move || {
                        let (tg, limits, buckets) = (tg.clone(), limits.clone(), buckets.clone());
                        async move {
                            let r = telegram::send_pending(&tg, 64, &limits, &buckets).await?;
                            Ok::<_, telegram::TelegramError>(r.sent + r.failed + r.retrying)
                        }
                    }
                }),
            },
        },
        Worker {
            // Flows' «Ответ ИИ» steps: asks claimed under a lease and asked
            // side by side; the chats go on through the delayed steps.
            name: "flow AI steps",
            run: Run::Loop {
                copies: 2,
                every: Duration::from_millis(250),
                wake: Some(&AI_WAKE),
                once: once({
                    let tg = tg.clone();
                    move || {
                        let tg = tg.clone();
                        async move {
                            let policy = domain::ai::RetryPolicy::default();
                            telegram::answer_flow_asks(&tg, &policy, 200).await
                        }
                    }
                }),
            },
        },
        Worker {
            name: "delayed flow steps",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_secs(1),
                wake: None,
                once: once({
                    let tg = tg.clone();
                    move || {
                        let tg = tg.clone();
                        async move {
                            let n = telegram::resume_due(&tg, 100).await?;
                            if n > 0 {
                                SENDER_WAKE.notify_waiters();
                            }
                            // Due steps are looked for once a second, not drained.
                            Ok::<_, telegram::TelegramError>(0)
                        }
                    }
                }),
            },
        },
        Worker {
            // Fires due broadcasts and runs a delivery lane per bot whose
            // lease this instance holds.
            name: "broadcasts",
            run: Run::Service(
                domain::broadcasts::run_lanes(tg.clone(), pacer, domain::broadcasts::LaneSettings::default()).boxed(),
            ),
        },
        Worker {
            name: "telegram pollers",
            run: Run::Service(pollers(tg, settings.telegram_poll_timeout).boxed()),
        },
    ];
    if settings.outreach {
        all.extend(outreach(services, outreach_bot));
    }
    all
}

/// Sales outreach: replies read, due first messages and the AI's answers
/// sent, every second while there is work. Accounts' caps and delays are
/// held by PostgreSQL, so instances running it together stay within them.
/// Beside it the admin bot's commands, and the bot itself connected from
/// `OUTREACH_BOT_TOKEN` when that is set (tried until Telegram answers).
fn outreach(services: &Services, bot_token: Option<SecretString>) -> Vec<Worker> {
    let mut all = vec![
        Worker {
            name: "outreach",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_secs(1),
                wake: None,
                once: with_services(services, |s| async move { s.outreach.round(50).await }),
            },
        },
        Worker {
            name: "outreach admin bot",
            run: Run::Loop {
                copies: 1,
                every: Duration::from_millis(500),
                wake: Some(&TELEGRAM_WAKE),
                once: with_services(services, |s| async move {
                    let n = s.outreach.admin_bot_round(20).await?;
                    if n > 0 {
                        SENDER_WAKE.notify_waiters();
                    }
                    Ok::<_, sqlx::Error>(n)
                }),
            },
        },
    ];
    if let Some(token) = bot_token {
        let tg = services.telegram.clone();
        all.push(Worker {
            name: "outreach admin bot token",
            run: Run::Once(
                async move {
                    let mut wait = Duration::from_secs(1);
                    loop {
                        match domain::telegram::ensure_outreach_admin_bot(&tg, token.expose_secret()).await {
                            Ok(id) => {
                                tracing::info!(bot = %id, "the outreach admin bot is connected (OUTREACH_BOT_TOKEN)");
                                break;
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "OUTREACH_BOT_TOKEN: the admin bot is not connected yet")
                            }
                        }
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(300));
                    }
                }
                .boxed(),
            ),
        });
    }
    all
}

/// The running workers.
pub struct Workers {
    token: CancellationToken,
    tasks: JoinSet<()>,
}

impl Workers {
    /// Starts every worker of the table; they stop when `token` is cancelled.
    pub fn start(
        services: &Services,
        settings: &WorkerSettings,
        outreach_bot: Option<SecretString>,
        token: CancellationToken,
    ) -> Self {
        Self::spawn(table(services, settings, outreach_bot), token)
    }

    /// Only the outreach worker (`mak-crm outreach`, a process of its own).
    pub fn start_outreach(services: &Services, outreach_bot: Option<SecretString>, token: CancellationToken) -> Self {
        Self::spawn(outreach(services, outreach_bot), token)
    }

    fn spawn(table: Vec<Worker>, token: CancellationToken) -> Self {
        let mut tasks = JoinSet::new();
        for w in table {
            let name = w.name;
            // A service that returns has stopped working; a one-off is done.
            let service = matches!(w.run, Run::Service(_));
            match w.run {
                Run::Service(fut) | Run::Once(fut) => {
                    let token = token.clone();
                    tasks.spawn(async move {
                        tokio::select! {
                            _ = token.cancelled() => {}
                            _ = fut => if service { tracing::warn!(worker = name, "worker ended") },
                        }
                    });
                }
                Run::Loop {
                    copies,
                    every,
                    wake,
                    once,
                } => {
                    for _ in 0..copies {
                        tasks.spawn(run_loop(name, every, wake, once.clone(), token.clone()));
                    }
                }
            }
        }
        Self { token, tasks }
    }

    /// Asks every worker to stop and waits up to `grace` for the units of
    /// work in hand; what is left is dropped (its transaction rolls back).
    pub async fn stop(mut self, grace: Duration) {
        self.token.cancel();
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!(left = self.tasks.len(), "workers still busy at shutdown; dropping them");
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
    }
}

async fn run_loop(
    name: &'static str,
    every: Duration,
    wake: Option<&'static Notify>,
    once: RunOnce,
    token: CancellationToken,
) {
    while !token.is_cancelled() {
        // Registered before the run, so a wake during it is not missed.
        let woken = wake.map(|n| n.notified());
        match once().await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(worker = name, error = %e, "worker failed; will retry"),
        }
        let woken = async move {
            match woken {
                Some(w) => w.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = token.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
            _ = woken => {}
        }
    }
}

/// Rebuilds any extra-field index a crash left missing or invalid (the
/// build is concurrent, outside a transaction, so it can be interrupted).
async fn heal_field_indexes(pool: sqlx::PgPool) {
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
}

static TELEGRAM_WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);
static SENDER_WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);
/// Rung when updates were processed: they may have taken paid questions
/// (and flows' AI asks), which are then asked at once, not a tick later.
static AI_WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Wakes the update processors at once (a webhook just stored an update);
/// they also look every 100 ms for updates other instances stored.
pub fn wake_telegram() {
    TELEGRAM_WAKE.notify_waiters();
}

/// Keeps one long poller per enabled bot without a webhook; a poller stops
/// when its bot is disabled, deleted or gets a webhook. Across instances a
/// PostgreSQL advisory lock lets only one of them poll a bot.
async fn pollers(tg: domain::telegram::Telegram, timeout: u32) {
    use std::collections::{HashMap, HashSet};
    let mut running: HashMap<uuid::Uuid, tokio::task::AbortHandle> = HashMap::new();
    let mut polls = JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        while polls.try_join_next().is_some() {}
        let wanted: HashSet<uuid::Uuid> = match domain::telegram::bots_to_poll(&tg).await {
            Ok(w) => w.into_iter().map(|t| t.bot_id).collect(),
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
            let handle = polls.spawn(async move {
                if let Err(e) = domain::telegram::poll_forever(&tg, id, timeout, wake_telegram).await {
                    tracing::warn!(bot = %id, error = %e, "poller stopped");
                }
                // Another instance holds the bot, or the poller failed: look again later.
                tokio::time::sleep(Duration::from_secs(5)).await;
            });
            running.insert(id, handle);
        }
    }
}
