//! Builds the router and runs the server with graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::FromRef;
use axum::serve::ListenerExt;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_sessions::cookie::SameSite;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use app::{shell, App, OAuthProviders};
use domain::crypto::Cipher;
use domain::realtime::Hub;
use domain::Services;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::routes;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    pub hub: Hub,
    pub config: Arc<Config>,
    pub metrics: Metrics,
    pub http: reqwest::Client,
    /// Slots for uploads in progress.
    pub uploads: routes::guard::UploadSlots,
    /// Cancelled when the server stops: workers finish, event streams end.
    pub shutdown: CancellationToken,
    /// The in-process fake Telegram outreach talks to under
    /// `OUTREACH_TELEGRAM=fake`; its test routes are mounted only then.
    pub outreach_fake: Option<domain::outreach::fake::FakeTelegram>,
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Applies the SQL migrations and the session store's table.
pub async fn migrate(pool: &PgPool) -> Result<(), Box<dyn std::error::Error>> {
    MIGRATOR.run(pool).await?;
    PostgresStore::new(pool.clone()).migrate().await?;
    Ok(())
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    addr: SocketAddr,
    pub state: AppState,
}

impl Application {
    /// Connects, migrates, and binds (port 0 picks a free port for tests).
    pub async fn build(config: Config) -> Result<Self, Box<dyn std::error::Error>> {
        let pool = PgPoolOptions::new()
            .max_connections(config.db_max_connections)
            // During an outage a request answers 503 within a second
            // instead of hanging on a connection that won't come.
            .acquire_timeout(std::time::Duration::from_millis(900))
            .connect(config.database_url())
            .await?;
        Self::build_with_pool(config, pool).await
    }

    /// Like `build`, on an existing pool (tests get theirs from `sqlx::test`).
    pub async fn build_with_pool(config: Config, pool: PgPool) -> Result<Self, Box<dyn std::error::Error>> {
        migrate(&pool).await?;
        // Times are shown in the company's zone from the first request on.
        domain::company::load_time_zone(&pool).await?;
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let mut config = config;
        if config.public_url.ends_with(":0") {
            config.public_url = format!("http://{addr}");
        }
        let state = build_state(config, pool, addr)?;
        let router = router(state.clone());
        Ok(Self {
            listener,
            router,
            addr,
            state,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts the workers and serves until SIGINT/SIGTERM; then stops
    /// taking requests, ends the event streams, lets the workers finish the
    /// work in hand (up to 10 s) and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let token = self.state.shutdown.clone();
        let workers = crate::workers::Workers::start(
            &self.state.services,
            &self.state.config.workers,
            self.state.config.outreach.bot_token.clone(),
            token.clone(),
        );
        let stop = token.clone();
        // Responses go out as soon as they are written (no Nagle delay
        // waiting for the client's delayed ACK).
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!(error = %e, "TCP_NODELAY not set");
            }
        });
        let served = axum::serve(
            listener,
            self.router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = shutdown_signal() => stop.cancel(),
                _ = stop.cancelled() => {}
            }
        })
        .await;
        workers.stop(std::time::Duration::from_secs(10)).await;
        tracing::info!("stopped");
        served
    }
}

fn build_state(config: Config, pool: PgPool, addr: SocketAddr) -> Result<AppState, Box<dyn std::error::Error>> {
    use secrecy::ExposeSecret;
    let cipher = Cipher::from_encoded_key(config.secret_key.expose_secret())?;
    let leptos_options = LeptosOptions::builder()
        .output_name(config.output_name.clone())
        .site_root(config.site_root.clone())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(leptos::config::Env::PROD)
        .build();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()?;
    let storage = match &config.s3 {
        Some(c) => {
            use secrecy::ExposeSecret;
            let st = domain::leads::Storage::new(
                &c.endpoint,
                &c.region,
                &c.access_key,
                c.secret_key.expose_secret(),
                &c.bucket,
            );
            let (check, bucket) = (st.clone(), c.bucket.clone());
            tokio::spawn(async move {
                if let Err(e) = check.ensure_bucket().await {
                    tracing::warn!(error = %e, %bucket, "file storage is not reachable yet");
                }
            });
            Some(st)
        }
        None => {
            tracing::info!("S3_ENDPOINT is not set: lead files are disabled");
            None
        }
    };
    let (outreach, outreach_fake) = outreach_connector(&config);
    let services = Services::new(
        pool.clone(),
        cipher,
        &config.public_url,
        domain::telegram::TelegramSettings {
            api_url: config.telegram_api_url.parse()?,
            webhook_base: config.telegram_webhooks.then(|| config.public_url.clone()),
        },
        storage,
    )
    .with_renderer(std::sync::Arc::new(crate::documents::Typst::new()))
    .with_amocrm(domain::integrations::amocrm::AmoSettings {
        base_url: config.amocrm_base_url.clone(),
        oauth_url: config.amocrm_oauth_url.clone(),
        public_url: config.public_url.clone(),
        ..Default::default()
    })
    .with_outreach(outreach, config.outreach.settings, config.outreach.admin_ids.clone());
    Ok(AppState {
        outreach_fake,
        uploads: Default::default(),
        shutdown: CancellationToken::new(),
        leptos_options,
        services,
        hub: Hub::start(pool.clone()),
        config: Arc::new(config),
        metrics: Metrics::install(),
        http,
    })
}

/// How outreach reaches Telegram user accounts (see `OutreachTelegram`).
pub fn outreach_connector(
    config: &Config,
) -> (
    Arc<dyn domain::outreach::Connector>,
    Option<domain::outreach::fake::FakeTelegram>,
) {
    use crate::config::OutreachTelegram;
    use domain::outreach::{fake::FakeTelegram, SystemClock, Unconfigured};
    match &config.outreach.telegram {
        OutreachTelegram::Fake => {
            tracing::warn!("OUTREACH_TELEGRAM=fake: outreach talks to an in-process fake Telegram");
            let fake = FakeTelegram::new(Arc::new(SystemClock));
            (Arc::new(fake.clone()), Some(fake))
        }
        OutreachTelegram::Mtproto { api_id, api_hash } => {
            use secrecy::ExposeSecret;
            (
                Arc::new(crate::mtproto::Grammers::new(
                    *api_id,
                    api_hash.expose_secret().to_string(),
                )),
                None,
            )
        }
        OutreachTelegram::Unconfigured => (Arc::new(Unconfigured), None),
    }
}

/// The whole router: Leptos pages and server functions, `/events`, OAuth2,
/// the REST API, health and metrics.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let store = PostgresStore::new(state.services.pool.clone());
    let deletion = store.clone();
    tokio::spawn(async move {
        let _ = deletion
            .continuously_delete_expired(tokio::time::Duration::from_secs(3600))
            .await;
    });
    let sessions = SessionManagerLayer::new(store)
        .with_name("mak_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.cookie_secure())
        .with_expiry(Expiry::OnInactivity(tower_sessions::cookie::time::Duration::days(7)));
    let services = state.services.clone();
    let providers = OAuthProviders(
        state
            .config
            .oauth
            .iter()
            .map(|p| (p.id.clone(), p.label.clone()))
            .collect(),
    );
    let context = move || {
        provide_context(services.clone());
        provide_context(providers.clone());
    };
    let leptos_options = state.leptos_options.clone();
    // Telegram's deliveries are machine to machine, proven by their secret
    // header, and the busiest route: none of the browser's layers (session,
    // same-origin, page headers, the signed-in user) apply to them. Nor to
    // website forms: anyone may post, from any site.
    // The bundle and the public files straight from the site root; only a
    // path that is no file reaches Leptos (its «not found» page). Leptos'
    // own file handler serves files inside a reactive owner, and now and
    // then a status another page had set (404, 403) went out with the
    // wasm, so the page never came alive.
    let not_a_file = axum::handler::Handler::with_state(
        leptos_axum::file_and_error_handler_with_context::<AppState, _>(context.clone(), shell),
        state.clone(),
    );
    let static_files = tower_http::services::ServeDir::new(&state.config.site_root)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(not_a_file);
    let routes::openapi::Routers { v1, bots, forms, doc } = routes::openapi::routers();
    let reference = routes::openapi::router(&doc).layer(axum::middleware::from_fn_with_state(
        state.config.clone(),
        routes::guard::security_headers,
    ));
    let telegram = Router::<AppState>::new()
        .route(
            "/telegram/webhook/{bot_id}",
            axum::routing::post(routes::telegram::webhook).layer(axum::extract::DefaultBodyLimit::max(1 << 20)),
        )
        // A broadcast's link button, pressed in Telegram: no session, no page.
        .route(
            "/b/{recipient}/{button}/{signature}",
            axum::routing::get(routes::broadcasts::follow),
        )
        .route(
            "/integrations/amocrm/webhook/{secret}",
            axum::routing::post(routes::amocrm::webhook).layer(axum::extract::DefaultBodyLimit::max(
                domain::integrations::amocrm::MAX_BODY,
            )),
        )
        .merge(forms.route_layer(axum::middleware::from_fn_with_state(
            state.config.clone(),
            routes::client_ip,
        )))
        .layer(axum::middleware::from_fn(crate::metrics::track));
    let app = Router::<AppState>::new()
        .merge(routes::health::router())
        .merge(routes::events::router())
        .merge(routes::oauth::router())
        .route(
            "/integrations/amocrm/callback",
            axum::routing::get(routes::amocrm::callback),
        )
        .route(
            "/leads/{number}/files",
            axum::routing::post(routes::files::form_upload).layer(axum::extract::DefaultBodyLimit::max(
                domain::leads::MAX_FILE_BYTES + 64 * 1024,
            )),
        )
        .route("/files/{id}", axum::routing::get(routes::files::download))
        .route(
            "/broadcasts/{id}/export.csv",
            axum::routing::get(routes::broadcasts::csv),
        )
        .route(
            "/broadcasts/{id}/export.xlsx",
            axum::routing::get(routes::broadcasts::xlsx),
        )
        .route(
            "/acts/{id}/signed",
            axum::routing::post(routes::documents::signed_form).layer(axum::extract::DefaultBodyLimit::max(
                domain::documents::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/clients/{id}/documents",
            axum::routing::post(routes::documents::client_upload_form).layer(axum::extract::DefaultBodyLimit::max(
                domain::documents::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/settings/templates/{kind}/preview",
            axum::routing::post(routes::documents::preview),
        )
        .route(
            "/imports/upload",
            axum::routing::post(routes::imports::form_upload).layer(axum::extract::DefaultBodyLimit::max(1 << 30)),
        )
        .route(
            "/telegram/files/{bot_id}/{message_id}",
            axum::routing::get(routes::telegram::incoming_file),
        )
        .merge(bots)
        .merge(
            v1.layer(axum::middleware::from_fn_with_state(
                state.clone(),
                routes::idempotency::idempotent,
            ))
            .layer(axum::extract::DefaultBodyLimit::max(1 << 30)),
        )
        .leptos_routes_with_context(&state, routes, context.clone(), move || shell(leptos_options.clone()))
        .fallback_service(static_files)
        .layer(axum::middleware::from_fn_with_state(
            state.services.clone(),
            routes::attach_me,
        ))
        // Each layer gets only the part of the state it reads: a layer
        // clones its state for every request.
        .layer(axum::middleware::from_fn_with_state(
            state.config.clone(),
            routes::guard::same_origin,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.uploads.clone(),
            routes::guard::body_limits,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.config.clone(),
            routes::guard::security_headers,
        ))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(
            state.config.clone(),
            routes::client_ip,
        ))
        .merge(telegram)
        .with_state(state.clone())
        .merge(reference);
    match state.outreach_fake {
        Some(fake) => app.merge(routes::outreach::fake_router(fake)),
        None => app,
    }
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down gracefully");
}
