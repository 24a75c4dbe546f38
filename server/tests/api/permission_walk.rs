//! Walks the whole permission matrix through the REST API: for every role
//! and every guarded operation, allowed calls succeed and denied ones get
//! 403. A new `Operation` variant does not compile here until it is walked,
//! and one without a matrix entry fails the first assertion.

use domain::rbac::{self, Operation, Target};
use domain::rbac::{
    AuctionOp, BotOp, BroadcastOp, ClientOp, CommissionOp, CompanyOp, InboxOp, LeadOp, OutreachOp, ReportOp,
    SettingsOp, UserOp,
};
use domain::types::Role;
use domain::{Actor, PgPool};
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

struct Call {
    method: Method,
    path: String,
    body: Option<serde_json::Value>,
    target: Target,
}

async fn fresh_partner(pool: &PgPool, admin: &Actor, n: &mut u32) -> Actor {
    *n += 1;
    user_with_role(pool, admin, &format!("target{n}@example.ru"), Role::Partner).await
}

async fn fresh_application(pool: &PgPool, n: &mut u32) -> uuid::Uuid {
    *n += 1;
    domain::accounts::register(pool, registration(&format!("applicant{n}@example.ru")))
        .await
        .unwrap()
}

/// A lead created by the admin (so it belongs to nobody else).
async fn fresh_lead(pool: &PgPool, admin: &Actor, n: &mut u32) -> (uuid::Uuid, i64, uuid::Uuid, Target) {
    *n += 1;
    let out = domain::leads::create_lead(
        pool,
        admin,
        domain::leads::NewLead {
            client_name: format!("Клиент {n}"),
            phone: format!("+7 999 {:03} {:04}", *n / 10000, *n % 10000),
            consent: true,
            origin: "test".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let domain::leads::CreateOutcome::Created { id, number, client_id } = out else {
        panic!("duplicate in the walk")
    };
    let target = Target::Record {
        owners: vec![admin.user_id],
        team: admin.team_id,
    };
    (id, number, client_id, target)
}

/// A bot connected by the admin (through the mock), with one chat.
async fn fresh_bot(pool: &PgPool, tg: &domain::telegram::Telegram, admin: &Actor, n: &mut u32) -> (uuid::Uuid, Target) {
    *n += 1;
    let token = format!("{}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao", 700_000_000 + *n);
    let bot = domain::telegram::connect_bot(tg, admin, &token).await.unwrap();
    let update = json!({ "update_id": 1, "message": { "message_id": 1, "date": 0,
        "chat": { "id": 42, "type": "private" }, "from": { "id": 42, "is_bot": false, "first_name": "А" }, "text": "привет" } });
    domain::telegram::ingest(tg, bot.id, &update).await.unwrap();
    // The server's own update workers may have claimed it first: wait until
    // the chat is there, whoever processed it.
    for _ in 0..250 {
        domain::telegram::process_pending(tg, 10).await.unwrap();
        let chats: i64 = sqlx::query_scalar("select count(*) from bot_chats where bot_id = $1 and chat_id = 42")
            .bind(bot.id)
            .fetch_one(pool)
            .await
            .unwrap();
        if chats == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let target = Target::Owned {
        owner: admin.user_id,
        team: admin.team_id,
    };
    (bot.id, target)
}

/// A dialog the admin's campaign started (the person wrote nothing yet).
async fn fresh_dialog(pool: &PgPool, admin: &Actor, n: &mut u32) -> (i64, Target) {
    *n += 1;
    let campaign: uuid::Uuid = sqlx::query_scalar(
        "insert into outreach_campaigns (name, status, first_message, created_by)
         values ($1, 'running', 'Здравствуйте', $2) returning id",
    )
    .bind(format!("Кампания {n}"))
    .bind(admin.user_id)
    .fetch_one(pool)
    .await
    .unwrap();
    let account: uuid::Uuid =
        sqlx::query_scalar("insert into outreach_accounts (phone, status) values ($1, 'active') returning id")
            .bind(format!("+7999555{:04}", *n))
            .fetch_one(pool)
            .await
            .unwrap();
    let id: i64 = sqlx::query_scalar(
        "insert into outreach_targets (campaign_id, handle, name, account_id, tg_user_id, status, contacted_at)
         values ($1, $2, 'Иван', $3, $4, 'contacted', now()) returning id",
    )
    .bind(campaign)
    .bind(format!("+7999444{:04}", *n))
    .bind(account)
    .bind(900_000 + i64::from(*n))
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into outreach_messages (target_id, account_id, direction, text) values ($1, $2, 'out', 'Здравствуйте')",
    )
    .bind(id)
    .bind(account)
    .execute(pool)
    .await
    .unwrap();
    let target = Target::Record {
        owners: vec![admin.user_id],
        team: None,
    };
    (id, target)
}

/// A draft broadcast of a fresh bot of the admin's; `state` is forced.
async fn fresh_broadcast(
    pool: &PgPool,
    tg: &domain::telegram::Telegram,
    admin: &Actor,
    n: &mut u32,
    state: &str,
) -> (uuid::Uuid, Target) {
    let (bot, target) = fresh_bot(pool, tg, admin, n).await;
    let b = domain::broadcasts::create_broadcast(
        tg,
        admin,
        bot,
        domain::broadcasts::BroadcastInput {
            text: "Новость".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    sqlx::query("update broadcasts set state = $2 where id = $1")
        .bind(b.id)
        .bind(state)
        .execute(pool)
        .await
        .unwrap();
    (b.id, target)
}

/// A lot on a fresh lead of the admin's.
async fn fresh_lot(pool: &PgPool, admin: &Actor, n: &mut u32) -> (uuid::Uuid, uuid::Uuid) {
    let (lead, ..) = fresh_lead(pool, admin, n).await;
    let lots = domain::auction::create_lots(
        pool,
        admin,
        domain::auction::NewLots {
            lead_ids: vec![lead],
            start_price: domain::types::Money::from_kopecks(100_000),
            step: domain::types::Money::from_kopecks(10_000),
            buy_now: None,
            reserve: None,
            ends_at: None,
            regions: vec![],
        },
    )
    .await
    .unwrap();
    (lots[0], lead)
}

/// The actor's franchisee company with money on it, or a fresh company
/// (with its first user) when the actor has none.
async fn company_with_money(pool: &PgPool, admin: &Actor, me: &Actor, n: &mut u32) -> (uuid::Uuid, Actor) {
    let (team, buyer) = match me.team_id {
        Some(team) if me.role == Role::Franchisee => (team, me.clone()),
        _ => {
            *n += 1;
            let (team, user) = domain::auction::create_franchisee(
                pool,
                domain::auction::NewFranchisee {
                    email: &format!("office{n}@example.ru"),
                    full_name: "Франчайзи",
                    company: &format!("Офис {n}"),
                    password: "office-password",
                    deposit: None,
                },
            )
            .await
            .unwrap();
            (team, actor(pool, user).await)
        }
    };
    *n += 1;
    domain::auction::deposit(
        pool,
        admin,
        team,
        domain::types::Money::from_kopecks(1_000_000),
        &format!("ПП-{n}"),
    )
    .await
    .unwrap();
    (team, buyer)
}

/// A lead the company of `buyer` bought at auction.
async fn bought_lead(pool: &PgPool, admin: &Actor, buyer: &Actor, n: &mut u32) -> uuid::Uuid {
    let (lot, lead) = fresh_lot(pool, admin, n).await;
    domain::auction::place_bid(pool, buyer, lot, domain::types::Money::from_kopecks(100_000))
        .await
        .unwrap();
    sqlx::query(
        "update lots set ends_at = now() - interval '1 second', starts_at = now() - interval '1 hour' where id = $1",
    )
    .bind(lot)
    .execute(pool)
    .await
    .unwrap();
    // Closed by this call or by the server's own worker, whichever comes first.
    for _ in 0..250 {
        domain::auction::close_due(pool).await.unwrap();
        let state: String = sqlx::query_scalar("select state from lots where id = $1")
            .bind(lot)
            .fetch_one(pool)
            .await
            .unwrap();
        if state == "sold" {
            return lead;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the lot was not sold")
}

/// A fresh partner with complete requisites and an issued deal: its
/// settlement period (with an act when `with_act`), owned by the partner.
async fn fresh_settlement(pool: &PgPool, admin: &Actor, n: &mut u32, with_act: bool) -> (uuid::Uuid, Target) {
    let t = fresh_partner(pool, admin, n).await;
    let card = domain::counterparties::own_card(pool, &t).await.unwrap();
    let requisites = domain::counterparties::CardInput {
        legal_form: "ip".into(),
        name: "ИП Обходной".into(),
        inn: "500100732259".into(),
        ogrn: "304500116000157".into(),
        legal_address: "г. Казань, ул. Баумана, д. 1".into(),
        bank_name: "ПАО Сбербанк".into(),
        correspondent_account: "30101810400000000225".into(),
        bik: "044525225".into(),
        settlement_account: "40702810938000000001".into(),
        tax_regime: "usn".into(),
        ..Default::default()
    };
    domain::counterparties::update_card(pool, admin, card.id, &requisites)
        .await
        .unwrap();
    let hq: uuid::Uuid = sqlx::query_scalar("select id from company_cards where kind = 'hq'")
        .fetch_one(pool)
        .await
        .unwrap();
    let hq_requisites = domain::counterparties::CardInput {
        legal_form: "ooo".into(),
        name: "ООО «МаК»".into(),
        inn: "7707083893".into(),
        ogrn: "1027700132195".into(),
        kpp: "773601001".into(),
        signatory: "Директор".into(),
        signatory_basis: "charter".into(),
        tax_regime: "vat".into(),
        ..requisites
    };
    domain::counterparties::update_card(pool, admin, hq, &hq_requisites)
        .await
        .unwrap();
    *n += 1;
    let lead = domain::leads::create_lead(
        pool,
        &t,
        domain::leads::NewLead {
            client_name: format!("Клиент {n}"),
            phone: format!("+7 998 {:03} {:04}", *n / 10000, *n % 10000),
            consent: true,
            origin: "test".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let domain::leads::CreateOutcome::Created { id: lead, .. } = lead else {
        panic!("duplicate in the walk")
    };
    sqlx::query(
        "update leads set product_id = (select id from dictionary_items where kind = 'product' order by name limit 1),
                          stage_id = (select id from stages where kind = 'won' order by position limit 1) where id = $1",
    )
    .bind(lead)
    .execute(pool)
    .await
    .unwrap();
    domain::commissions::record_issue(
        pool,
        admin,
        lead,
        &domain::commissions::IssueInput {
            issued_on: "2026-11-30".into(),
            bank: "ПАО Сбербанк".into(),
            amount: "1000000".into(),
            company_fee: String::new(),
        },
    )
    .await
    .unwrap();
    let settlement: uuid::Uuid =
        sqlx::query_scalar("select settlement_id from accruals where lead_id = $1 and level = 0")
            .bind(lead)
            .fetch_one(pool)
            .await
            .unwrap();
    if with_act {
        let st = domain::storage::Storage::new(
            &std::env::var("S3_ENDPOINT").expect("scripts/test starts S3"),
            "us-east-1",
            &std::env::var("S3_ACCESS_KEY").unwrap_or_default(),
            &std::env::var("S3_SECRET_KEY").unwrap_or_default(),
            &std::env::var("S3_BUCKET").unwrap_or_else(|_| "mak-crm".into()),
        );
        st.ensure_bucket().await.unwrap();
        let renderer: std::sync::Arc<dyn domain::documents::Render> =
            std::sync::Arc::new(server::documents::Typst::new());
        domain::settlements::issue_act(pool, Some(&st), Some(&renderer), admin, settlement, false)
            .await
            .unwrap();
    }
    (
        settlement,
        Target::Owned {
            owner: t.user_id,
            team: t.team_id,
        },
    )
}

async fn call_for(
    op: Operation,
    pool: &PgPool,
    tg: &domain::telegram::Telegram,
    admin: &Actor,
    me: &Actor,
    n: &mut u32,
) -> Call {
    let owned = |a: &Actor| Target::Owned {
        owner: a.user_id,
        team: a.team_id,
    };
    let c = |method: Method, path: String, body: Option<serde_json::Value>, target: Target| Call {
        method,
        path,
        body,
        target,
    };
    match op {
        Operation::Users(UserOp::List) => c(Method::GET, "/api/v1/users".into(), None, Target::Collection),
        Operation::Users(UserOp::View) => {
            let t = fresh_partner(pool, admin, n).await;
            c(Method::GET, format!("/api/v1/users/{}", t.user_id), None, owned(&t))
        }
        Operation::Users(UserOp::Export) => c(Method::GET, "/api/v1/users/export.csv".into(), None, Target::Collection),
        Operation::Users(UserOp::Invite) => {
            *n += 1;
            c(
                Method::POST,
                "/api/v1/invitations".into(),
                Some(json!({"email": format!("invitee{n}@mak.test"), "role": "employee"})),
                Target::Collection,
            )
        }
        Operation::Users(UserOp::Approve) => {
            let id = fresh_application(pool, n).await;
            c(
                Method::POST,
                format!("/api/v1/users/{id}/approve"),
                Some(json!({"role": "partner"})),
                Target::Owned { owner: id, team: None },
            )
        }
        Operation::Users(UserOp::Reject) => {
            let id = fresh_application(pool, n).await;
            c(
                Method::POST,
                format!("/api/v1/users/{id}/reject"),
                None,
                Target::Owned { owner: id, team: None },
            )
        }
        Operation::Users(UserOp::ChangeRole) => {
            let t = fresh_partner(pool, admin, n).await;
            c(
                Method::POST,
                format!("/api/v1/users/{}/role", t.user_id),
                Some(json!({"role": "franchisee"})),
                owned(&t),
            )
        }
        Operation::Users(UserOp::Block) => {
            let t = fresh_partner(pool, admin, n).await;
            c(
                Method::POST,
                format!("/api/v1/users/{}/block", t.user_id),
                None,
                owned(&t),
            )
        }
        Operation::Users(UserOp::Unblock) => {
            let t = fresh_partner(pool, admin, n).await;
            domain::accounts::block_user(pool, admin, t.user_id).await.unwrap();
            c(
                Method::POST,
                format!("/api/v1/users/{}/unblock", t.user_id),
                None,
                owned(&t),
            )
        }
        Operation::Users(UserOp::IssueToken) => {
            let t = fresh_partner(pool, admin, n).await;
            c(
                Method::POST,
                format!("/api/v1/users/{}/tokens", t.user_id),
                Some(json!({"name": "walk"})),
                owned(&t),
            )
        }
        Operation::Users(UserOp::RevokeToken) => {
            let t = fresh_partner(pool, admin, n).await;
            let issued = domain::accounts::issue_token(pool, admin, t.user_id, "victim", None)
                .await
                .unwrap();
            c(
                Method::DELETE,
                format!("/api/v1/tokens/{}", issued.token.id),
                None,
                owned(&t),
            )
        }
        Operation::Users(UserOp::EditProfile) => c(
            Method::POST,
            "/api/v1/profile".into(),
            Some(json!({"full_name": "Новое Имя", "phone": "+79990001122", "city": "Тверь"})),
            owned(me),
        ),
        Operation::Settings(SettingsOp::ViewPermissions) => {
            c(Method::GET, "/api/v1/permissions".into(), None, Target::Collection)
        }
        Operation::Settings(SettingsOp::EditPermissions) => c(
            Method::PUT,
            "/api/v1/permissions".into(),
            Some(json!({"role": "partner", "resource": "reports", "action": "export", "scope": "none"})),
            Target::Collection,
        ),
        Operation::Settings(SettingsOp::EditSecurityPolicy) => c(
            Method::POST,
            "/api/v1/policies/guest".into(),
            Some(json!({"require_2fa": false})),
            Target::Collection,
        ),
        // The zone stays Moscow: the process's clock is shared by every test.
        Operation::Settings(SettingsOp::EditCompany) => c(
            Method::PUT,
            "/api/v1/settings/time-zone".into(),
            Some(json!({"time_zone": "Europe/Moscow"})),
            Target::Collection,
        ),
        Operation::Settings(SettingsOp::ViewAudit) => c(Method::GET, "/api/v1/audit".into(), None, Target::Collection),
        Operation::Leads(LeadOp::List) => c(Method::GET, "/api/v1/leads".into(), None, Target::Collection),
        Operation::Leads(LeadOp::View) => {
            let (_, number, _, target) = fresh_lead(pool, admin, n).await;
            c(Method::GET, format!("/api/v1/leads/{number}"), None, target)
        }
        Operation::Leads(LeadOp::Create) => {
            *n += 1;
            let phone = format!("+7 912 {:03} {:04}", *n / 10000, *n % 10000);
            c(
                Method::POST,
                "/api/v1/leads".into(),
                Some(json!({"client_name": "Новый клиент", "phone": phone, "consent": true})),
                Target::Collection,
            )
        }
        Operation::Leads(LeadOp::Delete) => {
            let (_, number, _, target) = fresh_lead(pool, admin, n).await;
            c(Method::DELETE, format!("/api/v1/leads/{number}"), None, target)
        }
        Operation::Leads(LeadOp::Edit) => {
            let (id, _, _, target) = fresh_lead(pool, admin, n).await;
            let stage: uuid::Uuid = sqlx::query_scalar("select id from stages order by position desc limit 1")
                .fetch_one(pool)
                .await
                .unwrap();
            c(
                Method::POST,
                format!("/api/v1/leads/{id}/stage"),
                Some(json!({"stage_id": stage})),
                target,
            )
        }
        Operation::Leads(LeadOp::Export) => c(Method::GET, "/api/v1/leads/export.csv".into(), None, Target::Collection),
        Operation::Leads(LeadOp::Import) => c(
            Method::POST,
            "/api/v1/imports?file_name=walk.csv".into(),
            None,
            Target::Collection,
        ),
        Operation::Clients(ClientOp::Merge) => {
            let (_, _, main, _) = fresh_lead(pool, admin, n).await;
            let (_, _, other, _) = fresh_lead(pool, admin, n).await;
            let target = Target::Record {
                owners: vec![admin.user_id],
                team: admin.team_id,
            };
            c(
                Method::POST,
                format!("/api/v1/clients/{main}/merge"),
                Some(json!({"other": other, "full_name": "Объединённый Клиент"})),
                target,
            )
        }
        Operation::Settings(SettingsOp::EditPipelines) => {
            *n += 1;
            c(
                Method::POST,
                "/api/v1/pipelines".into(),
                Some(json!({"name": format!("Воронка {n}")})),
                Target::Collection,
            )
        }
        Operation::Settings(SettingsOp::EditDictionaries) => {
            *n += 1;
            c(
                Method::POST,
                "/api/v1/dictionaries".into(),
                Some(json!({"kind": "source", "name": format!("Источник {n}")})),
                Target::Collection,
            )
        }
        Operation::Settings(SettingsOp::EditCustomFields) => {
            *n += 1;
            c(
                Method::POST,
                "/api/v1/custom-fields".into(),
                Some(json!({"label": format!("Поле {n}"), "kind": "number"})),
                Target::Collection,
            )
        }
        Operation::Settings(SettingsOp::ShareView) => {
            *n += 1;
            c(
                Method::POST,
                "/api/v1/views".into(),
                Some(
                    json!({"name": format!("Вид {n}"), "query": "sort=amount_desc", "columns": ["number", "amount"], "shared": true}),
                ),
                Target::Collection,
            )
        }
        Operation::Auction(AuctionOp::ViewLots) => c(Method::GET, "/api/v1/lots".into(), None, Target::Collection),
        Operation::Auction(AuctionOp::ManageLots) => {
            let (lead, ..) = fresh_lead(pool, admin, n).await;
            c(
                Method::POST,
                "/api/v1/lots".into(),
                Some(json!({"lead_ids": [lead], "start_price": 1000, "step": 100})),
                Target::Collection,
            )
        }
        Operation::Auction(AuctionOp::Bid) => {
            let (lot, _) = fresh_lot(pool, admin, n).await;
            company_with_money(pool, admin, me, n).await;
            c(
                Method::POST,
                format!("/api/v1/lots/{lot}/bids"),
                Some(json!({"amount": 1000})),
                Target::Collection,
            )
        }
        Operation::Auction(AuctionOp::ViewBalance) => {
            let (team, _) = company_with_money(pool, admin, me, n).await;
            c(
                Method::GET,
                format!("/api/v1/franchisees/{team}/balance"),
                None,
                Target::Owned {
                    owner: uuid::Uuid::nil(),
                    team: Some(team),
                },
            )
        }
        Operation::Auction(AuctionOp::ManageBalances) => {
            let (team, _) = company_with_money(pool, admin, admin, n).await;
            *n += 1;
            c(
                Method::POST,
                format!("/api/v1/franchisees/{team}/deposits"),
                Some(json!({"amount": "1 500,50", "document": format!("ПП-{n}")})),
                Target::Collection,
            )
        }
        Operation::Auction(AuctionOp::RequestReturn) => {
            let (_, buyer) = company_with_money(pool, admin, me, n).await;
            let lead = bought_lead(pool, admin, &buyer, n).await;
            c(
                Method::POST,
                format!("/api/v1/leads/{lead}/return"),
                Some(json!({"reason": "wrong_number", "comment": "Номер не обслуживается"})),
                Target::Collection,
            )
        }
        Operation::Auction(AuctionOp::ModerateReturns) => {
            let (_, buyer) = company_with_money(pool, admin, admin, n).await;
            let lead = bought_lead(pool, admin, &buyer, n).await;
            let id = domain::auction::request_return(pool, &buyer, lead, domain::auction::ReturnReason::Duplicate, "")
                .await
                .unwrap();
            c(
                Method::POST,
                format!("/api/v1/returns/{id}/approve"),
                None,
                Target::Collection,
            )
        }
        Operation::Commissions(CommissionOp::ViewGrades) => {
            c(Method::GET, "/api/v1/grades".into(), None, Target::Collection)
        }
        Operation::Commissions(CommissionOp::ViewAccruals) => {
            c(Method::GET, "/api/v1/accruals".into(), None, Target::Collection)
        }
        Operation::Commissions(CommissionOp::ManageGrades) => c(
            Method::POST,
            "/api/v1/grades/recompute".into(),
            None,
            Target::Collection,
        ),
        Operation::Commissions(CommissionOp::RecordIssue) => {
            let (lead, ..) = fresh_lead(pool, admin, n).await;
            sqlx::query("update leads set stage_id = (select id from stages where kind = 'won' order by position limit 1) where id = $1")
                .bind(lead)
                .execute(pool)
                .await
                .unwrap();
            c(
                Method::POST,
                format!("/api/v1/leads/{lead}/issue"),
                Some(json!({"issued_on": "2026-11-30", "bank": "ПАО Сбербанк", "amount": 1000000})),
                Target::Collection,
            )
        }
        Operation::Commissions(CommissionOp::ViewSettlements) => {
            c(Method::GET, "/api/v1/settlements".into(), None, Target::Collection)
        }
        Operation::Commissions(CommissionOp::IssueAct) => {
            let (settlement, target) = fresh_settlement(pool, admin, n, false).await;
            c(
                Method::POST,
                format!("/api/v1/settlements/{settlement}/act"),
                None,
                target,
            )
        }
        Operation::Commissions(CommissionOp::RecordPayment) => {
            let (settlement, target) = fresh_settlement(pool, admin, n, true).await;
            *n += 1;
            c(
                Method::POST,
                format!("/api/v1/settlements/{settlement}/payments"),
                Some(json!({
                    "paid_on": domain::time::local(chrono::Utc::now()).date_naive().to_string(),
                    "amount": 1, "key": format!("walk-{n}"),
                })),
                target,
            )
        }
        Operation::Commissions(CommissionOp::SignAct) => {
            let (settlement, target) = fresh_settlement(pool, admin, n, true).await;
            let act: uuid::Uuid = sqlx::query_scalar("select id from acts where settlement_id = $1")
                .bind(settlement)
                .fetch_one(pool)
                .await
                .unwrap();
            c(
                Method::POST,
                format!("/api/v1/acts/{act}/signed?name=scan.pdf"),
                Some(json!("%PDF-1.4 scan")),
                target,
            )
        }
        Operation::Settings(SettingsOp::EditTemplates) => {
            c(Method::GET, "/api/v1/templates/act".into(), None, Target::Collection)
        }
        Operation::Settings(SettingsOp::ManageIntegrations) => {
            c(Method::GET, "/api/v1/web-forms".into(), None, Target::Collection)
        }
        Operation::Companies(CompanyOp::List) => c(Method::GET, "/api/v1/companies".into(), None, Target::Collection),
        Operation::Companies(CompanyOp::View) => {
            let t = fresh_partner(pool, admin, n).await;
            let card = domain::counterparties::own_card(pool, &t).await.unwrap();
            c(Method::GET, format!("/api/v1/companies/{}", card.id), None, owned(&t))
        }
        Operation::Companies(CompanyOp::Edit) => {
            let t = fresh_partner(pool, admin, n).await;
            let card = domain::counterparties::own_card(pool, &t).await.unwrap();
            let body = json!({"legal_form": "individual", "name": "Партнёр Обходной", "tax_regime": "none"});
            c(
                Method::PUT,
                format!("/api/v1/companies/{}", card.id),
                Some(body),
                owned(&t),
            )
        }
        Operation::Broadcasts(BroadcastOp::View) => {
            let (id, target) = fresh_bot(pool, tg, admin, n).await;
            c(Method::GET, format!("/api/v1/bots/{id}/broadcasts"), None, target)
        }
        Operation::Broadcasts(BroadcastOp::Create) => {
            let (id, target) = fresh_bot(pool, tg, admin, n).await;
            c(
                Method::POST,
                format!("/api/v1/bots/{id}/broadcasts"),
                Some(json!({"text": "Здравствуйте"})),
                target,
            )
        }
        Operation::Broadcasts(BroadcastOp::Send) => {
            let (id, target) = fresh_broadcast(pool, tg, admin, n, "sending").await;
            c(Method::POST, format!("/api/v1/broadcasts/{id}/pause"), None, target)
        }
        Operation::Broadcasts(BroadcastOp::Approve) => {
            let (id, target) = fresh_broadcast(pool, tg, admin, n, "awaiting_approval").await;
            c(Method::POST, format!("/api/v1/broadcasts/{id}/approve"), None, target)
        }
        Operation::Broadcasts(BroadcastOp::Export) => {
            let (id, target) = fresh_broadcast(pool, tg, admin, n, "done").await;
            c(Method::GET, format!("/broadcasts/{id}/export.csv"), None, target)
        }
        Operation::Outreach(OutreachOp::View) => c(
            Method::GET,
            "/api/v1/outreach/campaigns".into(),
            None,
            Target::Collection,
        ),
        Operation::Outreach(OutreachOp::Manage) => {
            *n += 1;
            c(
                Method::POST,
                "/api/v1/outreach/campaigns".into(),
                Some(
                    json!({"name": format!("Кампания обхода {n}"), "first_message": "Здравствуйте, {name}!",
                            "prompt": "", "stop_words": ""}),
                ),
                Target::Collection,
            )
        }
        Operation::Outreach(OutreachOp::Send) => {
            let (id, target) = fresh_dialog(pool, admin, n).await;
            c(
                Method::POST,
                format!("/api/v1/outreach/dialogs/{id}/take"),
                None,
                target,
            )
        }
        Operation::Outreach(OutreachOp::Export) => {
            let (id, target) = fresh_dialog(pool, admin, n).await;
            c(
                Method::GET,
                format!("/api/v1/outreach/dialogs/{id}/export.txt"),
                None,
                target,
            )
        }
        Operation::Reports(ReportOp::View) => c(Method::GET, "/api/v1/reports".into(), None, Target::Collection),
        Operation::Reports(ReportOp::Share) => {
            *n += 1;
            c(
                Method::POST,
                "/api/v1/reports".into(),
                Some(
                    json!({"name": format!("Общий отчёт {n}"), "definition": {"rows": ["source"]}, "shared_roles": ["employee"]}),
                ),
                Target::Collection,
            )
        }
        Operation::Reports(ReportOp::Export) => c(
            Method::GET,
            "/api/v1/reports/export.csv?definition=%7B%22rows%22%3A%5B%22source%22%5D%7D".into(),
            None,
            Target::Collection,
        ),
        Operation::Bots(BotOp::View) => c(Method::GET, "/api/bots".into(), None, Target::Collection),
        Operation::Bots(BotOp::Connect) => {
            *n += 1;
            c(
                Method::POST,
                "/api/bots".into(),
                Some(json!({"token": format!("{}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao", 800_000_000 + *n)})),
                Target::Collection,
            )
        }
        Operation::Bots(BotOp::Edit) => {
            let (id, target) = fresh_bot(pool, tg, admin, n).await;
            c(Method::DELETE, format!("/api/bots/{id}/webhook"), None, target)
        }
        Operation::Inbox(InboxOp::View) => {
            let (id, target) = fresh_bot(pool, tg, admin, n).await;
            c(Method::GET, format!("/api/bots/{id}/chats/42/messages"), None, target)
        }
        Operation::Inbox(InboxOp::Reply) => {
            let (id, target) = fresh_bot(pool, tg, admin, n).await;
            c(
                Method::POST,
                format!("/api/bots/{id}/chats/42/messages"),
                Some(json!({"text": "Здравствуйте"})),
                target,
            )
        }
        Operation::Bots(BotOp::Delete) => {
            let (id, target) = fresh_bot(pool, tg, admin, n).await;
            c(Method::DELETE, format!("/api/bots/{id}"), None, target)
        }
        Operation::Bots(BotOp::MarkCompanyBot) => {
            let (id, _) = fresh_bot(pool, tg, admin, n).await;
            c(
                Method::POST,
                format!("/api/bots/{id}/company"),
                None,
                Target::Collection,
            )
        }
        Operation::Clients(ClientOp::View) => {
            let (_, _, client_id, _) = fresh_lead(pool, admin, n).await;
            let target = Target::Record {
                owners: vec![admin.user_id],
                team: admin.team_id,
            };
            c(Method::GET, format!("/api/v1/clients/{client_id}"), None, target)
        }
        Operation::Clients(ClientOp::Edit) => {
            let (_, number, client_id, _) = fresh_lead(pool, admin, n).await;
            let target = Target::Record {
                owners: vec![admin.user_id],
                team: admin.team_id,
            };
            c(
                Method::PATCH,
                format!("/api/v1/clients/{client_id}"),
                Some(
                    json!({"full_name": format!("Клиент {number}"), "phones": [format!("+7 915 {:03} {:04}", number / 10000, number % 10000)]}),
                ),
                target,
            )
        }
    }
}

/// Calls `path` as the token's user and checks the decision: success when
/// `allowed`, else 403 with the API's «Нет доступа».
async fn expect_decision(
    app: &TestApp,
    token: &str,
    method: &Method,
    path: &str,
    body: Option<&serde_json::Value>,
    allowed: bool,
    what: &str,
) {
    let mut req = app.client.request(method.clone(), app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    if allowed {
        assert!(status.is_success(), "{what} should succeed, got {status}: {text}");
    } else {
        assert_eq!(status, 403, "{what} should be refused: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["code"], "forbidden");
        assert_eq!(v["message"], "Нет доступа");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn every_role_gets_exactly_what_the_matrix_grants(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let tg = telegram(&pool, &app);
    let admin = admin(&pool).await;
    let mut n = 0u32;
    let mut checked = 0;
    for role in Role::all() {
        let me = if role == Role::Admin {
            admin.clone()
        } else {
            user_with_role(&pool, &admin, &format!("{role}@mak.test"), role).await
        };
        let token = token_for(&pool, &me.email).await;
        for op in Operation::all() {
            let (resource, action) = op.permission();
            let scope = rbac::scope_for(&pool, role, resource, action)
                .await
                .unwrap_or_else(|e| panic!("{op:?} has no matrix entry for {role}: {e}"));
            let call = call_for(op, &pool, &tg, &admin, &me, &mut n).await;
            let allowed = rbac::permits(&me, op, scope, &call.target);
            let what = format!("{role} {op:?} ({scope}) {} {}", call.method, call.path);
            expect_decision(
                &app,
                &token,
                &call.method,
                &call.path,
                call.body.as_ref(),
                allowed,
                &what,
            )
            .await;
            checked += 1;
        }
    }
    assert_eq!(checked, Role::all().len() * Operation::all().len());
}

/// The AI assistant's routes (issue 17) decide on the bot's own rights —
/// reading on `bots:view`, changing on `bots:edit` — for every role, on a
/// bot the admin owns. (A refund needs a real payment first: its refusals
/// are checked in `domain/tests/assistant_bot.rs`.)
#[sqlx::test(migrations = "../migrations")]
async fn every_role_gets_the_assistant_routes_the_matrix_grants(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let tg = telegram(&pool, &app);
    let admin = admin(&pool).await;
    let mut n = 0u32;
    let view = Operation::Bots(BotOp::View);
    let edit = Operation::Bots(BotOp::Edit);
    let settings = json!({
        "enabled": true, "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-walk",
        "model": "gpt-4o-mini", "temperature": 0.3, "max_tokens": 500,
        "history_messages": 6, "trial_messages": 3, "trial_days": 0, "prompt": "Ты помощник."
    });
    let plan = json!({"kind": "pack", "title": "10 вопросов", "stars": 25, "credits": 10, "active": true});
    let mut checked = 0;
    for role in Role::all() {
        let me = if role == Role::Admin {
            admin.clone()
        } else {
            user_with_role(&pool, &admin, &format!("ai-{role}@mak.test"), role).await
        };
        let token = token_for(&pool, &me.email).await;
        let (bot, target) = fresh_bot(&pool, &tg, &admin, &mut n).await;
        let calls = [
            (view, Method::GET, format!("/api/v1/bots/{bot}/assistant"), None),
            (
                edit,
                Method::PUT,
                format!("/api/v1/bots/{bot}/assistant"),
                Some(settings.clone()),
            ),
            (view, Method::GET, format!("/api/v1/bots/{bot}/plans"), None),
            (
                edit,
                Method::POST,
                format!("/api/v1/bots/{bot}/plans"),
                Some(plan.clone()),
            ),
            (view, Method::GET, format!("/api/v1/bots/{bot}/users"), None),
            (view, Method::GET, format!("/api/v1/bots/{bot}/users/42/credits"), None),
            (
                edit,
                Method::POST,
                format!("/api/v1/bots/{bot}/users/42/credits"),
                Some(json!({"delta": 1, "reason": "проверка прав"})),
            ),
            (view, Method::GET, format!("/api/v1/bots/{bot}/payments"), None),
            (view, Method::GET, format!("/api/v1/bots/{bot}/ai-log"), None),
            (view, Method::GET, format!("/api/v1/bots/{bot}/ai-log.csv"), None),
            (view, Method::GET, format!("/api/v1/bots/{bot}/ledger"), None),
            (view, Method::GET, format!("/api/v1/bots/{bot}/ledger.csv"), None),
            (view, Method::GET, format!("/api/v1/bots/{bot}/assistant/stats"), None),
        ];
        for (op, method, path, body) in calls {
            let (resource, action) = op.permission();
            let scope = rbac::scope_for(&pool, role, resource, action).await.unwrap();
            let allowed = rbac::permits(&me, op, scope, &target);
            let what = format!("{role} {method} {path}");
            expect_decision(&app, &token, &method, &path, body.as_ref(), allowed, &what).await;
            checked += 1;
        }
    }
    assert_eq!(checked, Role::all().len() * 13);
}
