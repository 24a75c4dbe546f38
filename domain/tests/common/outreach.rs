//! An outreach world for the tests: the fake Telegram on a simulated
//! clock, the service without jitter, and accounts logged in from the CRM.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::crypto::Cipher;
use domain::outreach::campaigns::CampaignForm;
use domain::outreach::fake::{FakeTelegram, CODE};
use domain::outreach::roster::LoginInput;
use domain::outreach::{Login, Outreach, OutreachError, SimClock};
use domain::{Actor, PgPool};
use uuid::Uuid;

/// 11:00 in Moscow on a Monday.
pub fn morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap()
}

pub struct World {
    pub tg: FakeTelegram,
    pub clock: Arc<SimClock>,
    pub o: Outreach,
}

impl World {
    pub fn new(pool: &PgPool) -> Self {
        Self::with_admins(pool, vec![])
    }

    /// With the Telegram ids the admin bot answers as the CRM's admin.
    pub fn with_admins(pool: &PgPool, admins: Vec<i64>) -> Self {
        let clock = Arc::new(SimClock::at(morning()));
        let tg = FakeTelegram::new(clock.clone());
        let o = Outreach::new(
            pool.clone(),
            Cipher::from_encoded_key(&Cipher::generate_encoded_key()).unwrap(),
            Arc::new(tg.clone()),
            clock.clone(),
        )
        .without_jitter()
        .with_admins(admins);
        Self { tg, clock, o }
    }

    /// An account logged in from the CRM form, code then password.
    pub async fn account(&self, by: &Actor, phone: &str) -> Uuid {
        self.tg.add_account(phone, 500, "sales_one", Some("Казань"));
        assert_eq!(
            self.o.login_step(by, phone, LoginInput::Phone, "").await.unwrap(),
            Login::WaitingCode
        );
        let wrong = self.o.login_step(by, phone, LoginInput::Code, "00000").await;
        assert!(matches!(wrong, Err(OutreachError::Validation(f)) if f[0].field == "code"));
        assert!(matches!(
            self.o.login_step(by, phone, LoginInput::Code, CODE).await.unwrap(),
            Login::WaitingPassword { .. }
        ));
        let Login::Active { account } = self
            .o
            .login_step(by, phone, LoginInput::Password, "Казань")
            .await
            .unwrap()
        else {
            panic!("not logged in")
        };
        account
    }

    /// Sends until `n` messages went out in all.
    pub async fn send(&self, n: usize) {
        for _ in 0..200 {
            if self.tg.sent().len() >= n {
                return;
            }
            self.o.send_due(10).await.unwrap();
            self.clock.advance(Duration::seconds(31));
        }
        panic!("only {} of {n} sent", self.tg.sent().len());
    }
}

pub fn form(name: &str, accounts: &[Uuid], manager: Option<Uuid>) -> CampaignForm {
    CampaignForm {
        name: name.into(),
        first_message: "Здравствуйте, {name}! Подберём ипотеку под {rate}.".into(),
        personalize: false,
        prompt: "Ты менеджер агентства недвижимости.".into(),
        stop_words: "юрист, позвоните".into(),
        daily_cap: "50".into(),
        manager_id: manager,
        account_ids: accounts.to_vec(),
    }
}
