#![allow(dead_code)]

pub mod outreach;

use domain::accounts::{self, Registration, SessionGrant, SignIn};
use domain::crypto::Cipher;
use domain::types::Role;
use domain::{Actor, PgPool, Services};
use uuid::Uuid;

pub fn services(pool: &PgPool) -> Services {
    services_with(pool, Default::default())
}

pub fn services_with(pool: &PgPool, telegram: domain::telegram::TelegramSettings) -> Services {
    Services::new(
        pool.clone(),
        Cipher::from_encoded_key(&"11".repeat(32)).unwrap(),
        "http://127.0.0.1:3000",
        telegram,
        None,
    )
}

pub async fn admin(pool: &PgPool) -> Actor {
    let id = accounts::create_admin(pool, "admin@mak.test", "admin-password", "Админ")
        .await
        .unwrap();
    actor(pool, id).await
}

pub async fn actor(pool: &PgPool, id: Uuid) -> Actor {
    let epoch: i32 = sqlx::query_scalar("select session_epoch from users where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
    accounts::load_actor(pool, id, epoch, Some("10.0.0.1".parse().unwrap()))
        .await
        .unwrap()
        .expect("actor loads")
}

pub fn registration(email: &str) -> Registration {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Registration {
        full_name: "Иванов Иван Иванович".into(),
        email: email.into(),
        password: "partner-password".into(),
        phone: "8 (999) 123-45-67".into(),
        city: "Казань".into(),
        niche: "Ипотека".into(),
        legal_form: "ip".into(),
        inn: "500100732259".into(),
        company_name: "ИП Иванов".into(),
        referral_code: String::new(),
        requested_role: "partner".into(),
        // Each applicant from an address of its own (five an hour per address).
        ip: Some(std::net::IpAddr::from([10, 1, (n >> 8) as u8, n as u8])),
        passwordless: false,
    }
}

/// A user with `role`, created through registration and approval (or an
/// invitation for staff roles).
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
            let token = link.path.trim_start_matches("/invite/");
            let grant = accounts::accept_invitation(pool, token, "Сотрудник Тестовый", "staff-password", None)
                .await
                .unwrap();
            actor(pool, grant.user_id).await
        }
        Role::Guest => {
            let id = accounts::register(pool, registration(email)).await.unwrap();
            actor(pool, id).await
        }
        Role::Partner | Role::Franchisee => {
            let id = accounts::register(pool, registration(email)).await.unwrap();
            accounts::approve_registration(pool, admin, id, role).await.unwrap();
            actor(pool, id).await
        }
    }
}

pub async fn sign_in(pool: &PgPool, email: &str, password: &str, ip: &str) -> Result<SignIn, accounts::AccountsError> {
    accounts::sign_in(
        pool,
        accounts::Credentials {
            email: email.into(),
            password: password.into(),
            ip: Some(ip.parse().unwrap()),
        },
    )
    .await
}

pub fn done(s: SignIn) -> SessionGrant {
    match s {
        SignIn::Done(g) => g,
        other => panic!("expected a finished sign-in, got {other:?}"),
    }
}

/// A lead for `name` with `phone`, consent given, as tests hand it in.
pub fn lead(name: &str, phone: &str) -> domain::leads::NewLead {
    domain::leads::NewLead {
        client_name: name.into(),
        phone: phone.into(),
        consent: true,
        origin: "test".into(),
        ..Default::default()
    }
}

/// (lead id, number, client id) of a created lead; panics on anything else.
pub fn created(o: domain::leads::CreateOutcome) -> (Uuid, i64, Uuid) {
    match o {
        domain::leads::CreateOutcome::Created { id, number, client_id } => (id, number, client_id),
        other => panic!("expected a created lead, got {other:?}"),
    }
}

/// The S3-compatible server scripts/test starts (s3s-fs, which checks SigV4).
pub fn storage() -> domain::storage::Storage {
    let var = |k: &str| {
        std::env::var(k)
            .unwrap_or_else(|_| panic!("{k} is not set: run the tests through scripts/test, which starts s3s-fs"))
    };
    domain::storage::Storage::new(
        &var("S3_ENDPOINT"),
        "us-east-1",
        &var("S3_ACCESS_KEY"),
        &var("S3_SECRET_KEY"),
        &var("S3_BUCKET"),
    )
}

/// The same server with a wrong secret key: every write is refused.
pub fn broken_storage() -> domain::storage::Storage {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    domain::storage::Storage::new(
        &var("S3_ENDPOINT"),
        "us-east-1",
        &var("S3_ACCESS_KEY"),
        "not-the-secret-key",
        &var("S3_BUCKET"),
    )
}

/// A sole trader's complete company card (requisites that pass every check).
pub fn ip_card() -> domain::counterparties::CardInput {
    domain::counterparties::CardInput {
        legal_form: "ip".into(),
        name: "ИП Петров Пётр Петрович".into(),
        inn: "500100732259".into(),
        ogrn: "304500116000157".into(),
        legal_address: "г. Казань, ул. Баумана, д. 1".into(),
        bank_name: "ПАО Сбербанк".into(),
        bik: "044525225".into(),
        settlement_account: "40702810938000000001".into(),
        correspondent_account: "30101810400000000225".into(),
        tax_regime: "usn".into(),
        ..Default::default()
    }
}

/// The real Typst renderer behind the domain's `Render`.
struct Typst(render::Renderer);

impl domain::documents::Render for Typst {
    fn pdf(&self, template: &str, data: &serde_json::Value) -> Result<Vec<u8>, domain::documents::TemplateError> {
        self.0.pdf(template, data).map_err(|e| match e {
            render::RenderError::Template { line, message } => domain::documents::TemplateError { line, message },
            other => domain::documents::TemplateError {
                line: 0,
                message: other.to_string(),
            },
        })
    }
}

pub fn renderer() -> std::sync::Arc<dyn domain::documents::Render> {
    std::sync::Arc::new(Typst(render::Renderer::new()))
}

pub async fn bytes(s: aws_sdk_s3::primitives::ByteStream) -> Vec<u8> {
    s.collect().await.unwrap().into_bytes().to_vec()
}

/// The text of a PDF, read with pdftotext (poppler-utils).
pub fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed by scripts/test");
    String::from_utf8(out.stdout).unwrap()
}
