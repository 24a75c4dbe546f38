//! The outreach admin bot as the sales team uses it: an `ADMIN_TELEGRAM_ID`
//! adds an account through the code and password prompts (which are not
//! kept), lists and reads the dialogs, exports one and all, stops one,
//! starts one by username and disables an account; a linked employee sees
//! only their own campaigns; a stranger and a linked partner get the
//! polite refusal and nothing else.

mod common;

use std::io::Read;

use common::outreach::*;
use common::*;
use domain::outreach::admin_bot::REFUSAL;
use domain::outreach::campaigns::{self, CampaignAction};
use domain::outreach::{fake::CODE, targets};
use domain::types::Role;
use domain::PgPool;
use serde_json::json;
use uuid::Uuid;

const ADMIN_TG: i64 = 900;
const STRANGER_TG: i64 = 555;

struct Bot {
    tg: domain::telegram::Telegram,
    id: Uuid,
    next: std::sync::atomic::AtomicI64,
}

impl Bot {
    async fn new(pool: &PgPool) -> Self {
        let id: Uuid = sqlx::query_scalar(
            "insert into bots (tg_id, username, first_name, token_enc, token_hash, is_outreach_admin)
             values (777, 'sales_admin_bot', 'Продажи', '\\x00', 'h', true) returning id",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        Self {
            tg: services(pool).telegram,
            id,
            next: 1.into(),
        }
    }

    /// `from` writes `text` to the bot.
    async fn says(&self, from: i64, text: &str) {
        let update_id = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let update = json!({
            "update_id": update_id,
            "message": {
                "message_id": update_id, "date": 1_700_000_000, "text": text,
                "chat": { "id": from, "type": "private", "first_name": "Кто-то" },
                "from": { "id": from, "is_bot": false, "first_name": "Кто-то" },
            }
        });
        domain::telegram::ingest(&self.tg, self.id, &update).await.unwrap();
    }

    /// What the bot queued for `chat` so far: texts, and files as
    /// `file:name`.
    async fn said(&self, pool: &PgPool, chat: i64) -> Vec<String> {
        let rows: Vec<(String, serde_json::Value)> =
            sqlx::query_as("select body, payload from bot_messages where bot_id = $1 and chat_id = $2 order by id")
                .bind(self.id)
                .bind(chat)
                .fetch_all(pool)
                .await
                .unwrap();
        rows.into_iter()
            .map(|(body, p)| match p["file_name"].as_str() {
                Some(name) => format!("file:{name}"),
                None => body,
            })
            .collect()
    }

    async fn last(&self, pool: &PgPool, chat: i64) -> String {
        self.said(pool, chat).await.pop().unwrap_or_default()
    }

    async fn file(&self, pool: &PgPool, name: &str) -> Vec<u8> {
        sqlx::query_scalar("select data from bot_uploads where bot_id = $1 and name = $2")
            .bind(self.id)
            .bind(name)
            .fetch_one(pool)
            .await
            .unwrap()
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_admin_bot_runs_accounts_and_dialogs_for_the_team_only(pool: PgPool) {
    let w = World::with_admins(&pool, vec![ADMIN_TG]);
    let admin = admin(&pool).await;
    let bot = Bot::new(&pool).await;
    let round = || async { w.o.admin_bot_round(100).await.unwrap() };

    // A stranger is refused, politely and with nothing else.
    bot.says(STRANGER_TG, "/list").await;
    bot.says(STRANGER_TG, "/export_all").await;
    assert_eq!(round().await, 2);
    assert_eq!(bot.said(&pool, STRANGER_TG).await, [REFUSAL, REFUSAL]);

    // An account added from the bot: the code (typed with spaces, as
    // Telegram wants) and the 2FA password; neither is kept.
    w.tg.add_account("+79990001001", 500, "sales_one", Some("Казань"));
    bot.says(ADMIN_TG, "/add_account +7 999 000-10-01").await;
    round().await;
    assert!(
        bot.last(&pool, ADMIN_TG).await.contains("код входа"),
        "{:?}",
        bot.said(&pool, ADMIN_TG).await
    );
    bot.says(ADMIN_TG, "0 0 0 0 0").await;
    round().await;
    assert!(
        bot.last(&pool, ADMIN_TG).await.contains("Неверный"),
        "{}",
        bot.last(&pool, ADMIN_TG).await
    );
    let spaced: String = CODE.chars().map(|c| format!("{c} ")).collect();
    bot.says(ADMIN_TG, &spaced).await;
    round().await;
    assert!(bot.last(&pool, ADMIN_TG).await.contains("подсказка"));
    bot.says(ADMIN_TG, "Казань").await;
    round().await;
    assert!(
        bot.last(&pool, ADMIN_TG).await.starts_with("Готово"),
        "{}",
        bot.last(&pool, ADMIN_TG).await
    );
    let kept: i64 = sqlx::query_scalar(
        "select count(*) from bot_updates where payload::text like '%Казань%' or payload::text like $1",
    )
    .bind(format!("%{spaced}%"))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        kept, 0,
        "the code and the password are blotted out of the stored updates"
    );
    let account: Uuid = sqlx::query_scalar("select id from outreach_accounts where phone = '+79990001001'")
        .fetch_one(&pool)
        .await
        .unwrap();

    // A running campaign with two people written to.
    let id = campaigns::create_campaign(&pool, &admin, form("Ипотека", &[account], Some(admin.user_id)))
        .await
        .unwrap();
    w.tg.add_person(41, "ivan_buyer", "", "Иван", false);
    w.tg.add_person(42, "olga_buyer", "", "Ольга", false);
    w.tg.add_person(43, "petr_late", "", "Пётр", false);
    targets::add_pasted(&pool, &admin, id, "@ivan_buyer, Иван\n@olga_buyer, Ольга")
        .await
        .unwrap();
    campaigns::set_campaign_status(&pool, &admin, id, CampaignAction::Start)
        .await
        .unwrap();
    w.send(2).await;
    w.tg.reply(41, "+79990001001", "А какая ставка & срок?");
    w.o.receive().await.unwrap();
    let dialog = |handle: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("select id from outreach_targets where handle = $1")
                .bind(handle)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (ivan, olga) = (dialog("@ivan_buyer").await, dialog("@olga_buyer").await);

    // /list, /view, /export, /export_all.
    bot.says(ADMIN_TG, "/list").await;
    bot.says(ADMIN_TG, &format!("/view {ivan}")).await;
    bot.says(ADMIN_TG, &format!("/export@sales_admin_bot {ivan}")).await;
    bot.says(ADMIN_TG, "/export_all").await;
    assert_eq!(round().await, 4);
    let said = bot.said(&pool, ADMIN_TG).await;
    let list = &said[said.len() - 4];
    assert!(
        list.contains(&format!("№{ivan} @ivan_buyer (Иван) — ответил")),
        "{list}"
    );
    assert!(list.contains(&format!("№{olga} @olga_buyer")), "{list}");
    let view = &said[said.len() - 3];
    assert!(view.contains("Кампания «Ипотека»"), "{view}");
    assert!(view.contains("Здравствуйте, Иван!"), "{view}");
    assert!(
        view.contains("А какая ставка &amp; срок?"),
        "escaped for Telegram's HTML: {view}"
    );
    assert_eq!(said[said.len() - 2], format!("file:dialog-{ivan}.txt"));
    let txt = String::from_utf8(bot.file(&pool, &format!("dialog-{ivan}.txt")).await).unwrap();
    assert!(txt.contains("А какая ставка & срок?"), "{txt}");
    let zip_name = said.last().unwrap().strip_prefix("file:").unwrap().to_string();
    assert!(
        zip_name.starts_with("dialogs-") && zip_name.ends_with(".zip"),
        "{zip_name}"
    );
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bot.file(&pool, &zip_name).await)).unwrap();
    assert_eq!(zip.len(), 2);
    let mut inside = String::new();
    zip.by_name(&format!("dialog-{olga}.txt"))
        .unwrap()
        .read_to_string(&mut inside)
        .unwrap();
    assert!(inside.contains("Здравствуйте, Ольга!"), "{inside}");

    // /stop, /start @username, bad numbers, /disable_account.
    bot.says(ADMIN_TG, &format!("/stop {olga}")).await;
    bot.says(ADMIN_TG, &format!("/stop {olga}")).await;
    bot.says(ADMIN_TG, "/view сорок").await;
    bot.says(ADMIN_TG, "/view 999999").await;
    bot.says(ADMIN_TG, "/start @petr_late").await;
    bot.says(ADMIN_TG, "/start @ivan_buyer").await;
    assert_eq!(round().await, 6);
    let said = bot.said(&pool, ADMIN_TG).await;
    let tail = &said[said.len() - 6..];
    assert!(tail[0].contains("остановлен"), "{}", tail[0]);
    assert!(tail[1].contains("уже не идёт"), "{}", tail[1]);
    assert!(tail[2].contains("Укажите номер диалога"), "{}", tail[2]);
    assert!(tail[3].contains("Не нашёл"), "{}", tail[3]);
    assert!(
        tail[4].contains("@petr_late первым в очереди кампании «Ипотека»"),
        "{}",
        tail[4]
    );
    assert!(tail[5].contains("уже идёт"), "{}", tail[5]);
    let status: String = sqlx::query_scalar("select status from outreach_targets where id = $1")
        .bind(olga)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "stopped");
    w.send(3).await;
    assert_eq!(
        w.tg.sent().last().unwrap().to_user_id,
        43,
        "the started dialog went out"
    );

    bot.says(ADMIN_TG, "/disable_account 89990001001").await;
    bot.says(ADMIN_TG, "/list_accounts").await;
    bot.says(ADMIN_TG, "/frobnicate").await;
    assert_eq!(round().await, 3);
    let said = bot.said(&pool, ADMIN_TG).await;
    assert!(said[said.len() - 3].contains("отключён"), "{}", said[said.len() - 3]);
    assert!(
        said[said.len() - 2].contains("+79990001001 (@sales_one) — отключён, сегодня "),
        "{}",
        said[said.len() - 2]
    );
    assert!(said[said.len() - 1].contains("Не знаю команды /frobnicate"));

    // A linked employee: only the campaigns they run or manage. A linked
    // partner: refused like a stranger.
    let employee = user_with_role(&pool, &admin, "sales@mak.test", Role::Employee).await;
    let partner = user_with_role(&pool, &admin, "partner@mak.test", Role::Partner).await;
    for (user, tg_id) in [(employee.user_id, 301_i64), (partner.user_id, 302)] {
        sqlx::query("insert into bot_chats (bot_id, chat_id, tg_user_id, user_id) values ($1, $2, $2, $3)")
            .bind(bot.id)
            .bind(tg_id)
            .bind(user)
            .execute(&pool)
            .await
            .unwrap();
    }
    bot.says(301, "/list").await;
    bot.says(301, &format!("/view {ivan}")).await;
    bot.says(302, "/list").await;
    assert_eq!(round().await, 3);
    assert_eq!(
        bot.said(&pool, 301).await,
        ["Активных диалогов нет.", "У вас нет права на это действие."]
    );
    assert_eq!(bot.said(&pool, 302).await, [REFUSAL]);

    // Every write from the bot is audited as the admin it acted as.
    let audited: Vec<String> =
        sqlx::query_scalar("select action from audit_log where actor_id = $1 and entity like 'outreach%' order by id")
            .bind(admin.user_id)
            .fetch_all(&pool)
            .await
            .unwrap();
    for action in ["login", "export", "stop", "start_now", "status"] {
        assert!(audited.iter().any(|a| a == action), "{action} in {audited:?}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn one_bot_is_the_admin_bot_and_never_the_company_bot(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "sales@mak.test", Role::Employee).await;
    let tg = services(&pool).telegram;
    let bot = |tg_id: i64, company: bool| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, Uuid>(
                "insert into bots (tg_id, username, first_name, token_enc, token_hash, is_company, owner_id)
                 values ($1, $2, 'Бот', '\\x00', $2, $3, null) returning id",
            )
            .bind(tg_id)
            .bind(format!("bot_{tg_id}"))
            .bind(company)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let (company, first, second) = (bot(1, true).await, bot(2, false).await, bot(3, false).await);
    let marked = || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, Uuid>("select id from bots where is_outreach_admin")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    use domain::telegram::{set_company_bot, set_outreach_admin_bot, TelegramError};
    assert!(matches!(
        set_outreach_admin_bot(&tg, &admin, company, true).await,
        Err(TelegramError::Validation(_))
    ));
    assert!(matches!(
        set_outreach_admin_bot(&tg, &employee, first, true).await,
        Err(TelegramError::Rbac(_))
    ));
    set_outreach_admin_bot(&tg, &admin, first, true).await.unwrap();
    set_outreach_admin_bot(&tg, &admin, second, true).await.unwrap();
    assert_eq!(marked().await, [second], "the mark moves");
    assert!(matches!(
        set_company_bot(&tg, &admin, second).await,
        Err(TelegramError::Validation(_))
    ));
    set_outreach_admin_bot(&tg, &admin, second, false).await.unwrap();
    assert!(marked().await.is_empty());
    set_company_bot(&tg, &admin, second).await.unwrap();
}
