//! Starts the real app on port 0 with its own database (from `sqlx::test`)
//! and gives a cookie-keeping HTTP client.

use domain::accounts;
use domain::types::Role;
use domain::{Actor, PgPool};
use server::config::{Config, OAuthProviderConfig};
use server::Application;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The mock Bot API the app's bots talk to.
    pub telegram_mock: String,
}

/// The Telegram platform as the app sees it (same key, same mock).
pub fn telegram(pool: &PgPool, app: &TestApp) -> domain::telegram::Telegram {
    domain::Services::new(
        pool.clone(),
        domain::crypto::Cipher::from_encoded_key(&"33".repeat(32)).unwrap(),
        &app.base,
        domain::telegram::TelegramSettings {
            api_url: app.telegram_mock.parse().unwrap(),
            webhook_base: None,
        },
        None,
    )
    .telegram
}

pub fn config(oauth: Vec<OAuthProviderConfig>) -> Config {
    Config {
        database_url: "postgres://unused".to_string().into(),
        addr: "127.0.0.1:0".parse().unwrap(),
        public_url: "http://127.0.0.1:0".into(),
        secret_key: "33".repeat(32).into(),
        site_root: "target/site".into(),
        output_name: "mak-crm".into(),
        trust_proxy: false,
        api_rate_per_second: 50.0,
        api_rate_burst: 100.0,
        db_max_connections: 10,
        oauth,
        // The S3-compatible server scripts/test starts, when there is one:
        // documents (acts) need it.
        s3: std::env::var("S3_ENDPOINT")
            .ok()
            .map(|endpoint| server::config::S3Config {
                endpoint,
                region: "us-east-1".into(),
                bucket: std::env::var("S3_BUCKET").unwrap_or_else(|_| "mak-crm".into()),
                access_key: std::env::var("S3_ACCESS_KEY").unwrap_or_default(),
                secret_key: std::env::var("S3_SECRET_KEY").unwrap_or_default().into(),
            }),
        telegram_webhooks: false,
        telegram_api_url: "http://127.0.0.1:9".into(),
        amocrm_base_url: "http://127.0.0.1:9".into(),
        amocrm_oauth_url: "http://127.0.0.1:9/oauth".into(),
        workers: Default::default(),
        outreach: server::config::OutreachConfig {
            telegram: server::config::OutreachTelegram::Fake,
            settings: Default::default(),
            bot_token: None,
            admin_ids: vec![],
        },
    }
}

pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, vec![]).await
}

pub async fn spawn_app_with(pool: PgPool, oauth: Vec<OAuthProviderConfig>) -> TestApp {
    spawn_configured(pool, config(oauth)).await
}

/// The app with a configuration of the test's own (the mock Bot API is
/// filled in).
pub async fn spawn_configured(pool: PgPool, mut cfg: Config) -> TestApp {
    let (mock, _) = tg_mock::Mock::new(tg_mock::Limits::default())
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    cfg.telegram_api_url = format!("http://{mock}");
    let app = Application::build_with_pool(cfg, pool.clone())
        .await
        .expect("app builds");
    let base = format!("http://{}", app.addr());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        base,
        client,
        telegram_mock: format!("http://{mock}"),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub async fn admin(pool: &PgPool) -> Actor {
    let id = accounts::create_admin(pool, "admin@mak.test", "admin-password", "Админ")
        .await
        .unwrap();
    actor(pool, id).await
}

pub async fn actor(pool: &PgPool, id: uuid::Uuid) -> Actor {
    let epoch: i32 = sqlx::query_scalar("select session_epoch from users where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
    accounts::load_actor(pool, id, epoch, None).await.unwrap().unwrap()
}

pub fn registration(email: &str) -> accounts::Registration {
    accounts::Registration {
        full_name: "Иванов Иван".into(),
        email: email.into(),
        password: "partner-password".into(),
        phone: "+7 999 123-45-67".into(),
        city: "Казань".into(),
        niche: "Ипотека".into(),
        legal_form: "ooo".into(),
        inn: "7707083893".into(),
        company_name: "ООО Ромашка".into(),
        referral_code: String::new(),
        requested_role: "partner".into(),
        ip: None,
        passwordless: false,
    }
}

/// A user of `role` (registration + approval, or invitation for staff).
pub async fn user_with_role(pool: &PgPool, admin: &Actor, email: &str, role: Role) -> Actor {
    match role {
        Role::Admin | Role::Employee => {
            let link = accounts::invite(
                pool,
                admin,
                accounts::InviteInput {
                    email: email.into(),
                    role,
                },
            )
            .await
            .unwrap();
            let g = accounts::accept_invitation(
                pool,
                link.path.trim_start_matches("/invite/"),
                "Сотрудник",
                "staff-password",
                None,
            )
            .await
            .unwrap();
            actor(pool, g.user_id).await
        }
        Role::Guest => actor(pool, accounts::register(pool, registration(email)).await.unwrap()).await,
        Role::Partner | Role::Franchisee => {
            let id = accounts::register(pool, registration(email)).await.unwrap();
            accounts::approve_registration(pool, admin, id, role).await.unwrap();
            actor(pool, id).await
        }
    }
}

pub async fn token_for(pool: &PgPool, email: &str) -> String {
    accounts::issue_token_for_email(pool, email, "test")
        .await
        .unwrap()
        .secret
}
