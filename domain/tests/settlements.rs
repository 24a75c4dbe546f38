//! Settlements against real PostgreSQL, a real S3-compatible server
//! (s3s-fs, started by scripts/test) and the real Typst renderer: the act
//! is read back with pdftotext.

// Kopecks written as rubles_kopecks on purpose.
#![allow(clippy::inconsistent_digit_grouping)]

mod common;

use common::*;
use domain::commissions::{self, IssueInput};
use domain::counterparties::{self, CardInput};
use domain::documents;
use domain::rbac::RbacError;
use domain::settlements::{self, PaymentInput, SettlementError, SettlementQuery, SettlementState};
use domain::types::Role;
use domain::{Actor, PgPool, Uuid};

fn hq_card() -> CardInput {
    CardInput {
        legal_form: "ooo".into(),
        name: "ООО «МаК Финанс»".into(),
        inn: "7707083893".into(),
        ogrn: "1027700132195".into(),
        kpp: "773601001".into(),
        legal_address: "117997, г. Москва, ул. Вавилова, д. 19".into(),
        bank_name: "ПАО Сбербанк".into(),
        bik: "044525225".into(),
        settlement_account: "40702810938000000001".into(),
        correspondent_account: "30101810400000000225".into(),
        signatory: "Генеральный директор Маков М. М.".into(),
        signatory_basis: "charter".into(),
        tax_regime: "vat".into(),
        ..Default::default()
    }
}

async fn card_of(pool: &PgPool, user: Uuid) -> Uuid {
    sqlx::query_scalar("select id from company_cards where user_id = $1")
        .bind(user)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn hq(pool: &PgPool) -> Uuid {
    sqlx::query_scalar("select id from company_cards where kind = 'hq'")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A won, issued mortgage deal of `partner` for `amount` rubles, today.
async fn issued_deal(pool: &PgPool, admin: &Actor, partner: &Actor, phone: &str, amount: &str) {
    let (id, ..) = created(
        domain::leads::create_lead(pool, partner, lead("Клиент Сделки", phone))
            .await
            .unwrap(),
    );
    sqlx::query(
        "update leads set product_id = (select id from dictionary_items where kind = 'product' and name = 'Ипотека'),
                          stage_id = (select id from stages where kind = 'won' order by position limit 1)
         where id = $1",
    )
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
    commissions::record_issue(
        pool,
        admin,
        id,
        &IssueInput {
            issued_on: domain::time::local(chrono::Utc::now()).date_naive().to_string(),
            bank: "Банк ВТБ".into(),
            amount: amount.into(),
            company_fee: String::new(),
        },
    )
    .await
    .unwrap();
}

fn pay(amount: &str, key: &str) -> PaymentInput {
    PaymentInput {
        paid_on: domain::time::local(chrono::Utc::now()).date_naive().to_string(),
        amount: amount.into(),
        key: key.into(),
    }
}

async fn payable(pool: &PgPool, user: Uuid) -> i64 {
    sqlx::query_scalar(
        "select coalesce(sum(balance_kopecks), 0)::bigint from ledger_accounts
         where kind = 'partner_commission' and owner_id = $1",
    )
    .bind(user)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_period_goes_from_accrued_to_an_act_a_signature_and_payments(pool: PgPool) {
    let st = storage();
    st.ensure_bucket().await.unwrap();
    let r = renderer();
    let admin = admin(&pool).await;
    let me = user_with_role(&pool, &admin, "me@example.ru", Role::Partner).await;
    let other = user_with_role(&pool, &admin, "other@example.ru", Role::Partner).await;
    // Старт: 0,5 % of 3 000 000 = 15 000 ₽.
    issued_deal(&pool, &admin, &me, "+7 916 200 00 01", "3000000").await;

    let mine = settlements::settlements(&pool, &me, &SettlementQuery::default())
        .await
        .unwrap();
    assert_eq!(mine.total, 1);
    let s = &mine.items[0];
    assert_eq!(
        (s.state, s.accrued.kopecks(), s.deals),
        (SettlementState::Accrued, 15_000_00, 1)
    );
    assert_eq!(
        settlements::settlements(&pool, &other, &SettlementQuery::default())
            .await
            .unwrap()
            .total,
        0,
        "another partner sees none of it"
    );
    assert!(matches!(
        settlements::settlement(&pool, &other, s.id).await,
        Err(SettlementError::Rbac(RbacError::NotAllowed))
    ));

    // Without requisites the act names what is missing, and writes nothing.
    let Err(SettlementError::Conflict(m)) =
        settlements::issue_act(&pool, Some(&st), Some(&r), &admin, s.id, false).await
    else {
        panic!("an act needs the partner's requisites")
    };
    assert!(m.contains("ОГРНИП") && m.contains("банковские реквизиты"), "{m}");
    counterparties::update_card(&pool, &me, card_of(&pool, me.user_id).await, &ip_card())
        .await
        .unwrap();
    let Err(SettlementError::Conflict(m)) =
        settlements::issue_act(&pool, Some(&st), Some(&r), &admin, s.id, false).await
    else {
        panic!("an act needs the company's requisites")
    };
    assert!(m.contains("реквизитах компании"), "{m}");
    assert!(
        counterparties::update_card(&pool, &me, hq(&pool).await, &hq_card())
            .await
            .is_err(),
        "a partner can't edit the company's card"
    );
    counterparties::update_card(&pool, &admin, hq(&pool).await, &hq_card())
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from documents")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "refused acts left nothing behind");

    // A partner can't issue their own act.
    assert!(matches!(
        settlements::issue_act(&pool, Some(&st), Some(&r), &me, s.id, false).await,
        Err(SettlementError::Rbac(_))
    ));
    let act = settlements::issue_act(&pool, Some(&st), Some(&r), &admin, s.id, false)
        .await
        .unwrap();
    assert_eq!((act.number, act.total.kopecks(), act.vat.kopecks()), (1, 15_000_00, 0));
    let (doc, body) = documents::open_document(&pool, Some(&st), &me, act.document_id)
        .await
        .unwrap();
    let pdf = bytes(body).await;
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(doc.sha256, {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&pdf))
    });
    let text = pdf_text(&pdf);
    for needle in [
        "Акт № 1",
        "ИП Петров Пётр Петрович",
        "500100732259",
        "ООО «МаК Финанс»",
        "7707083893",
        "Пятнадцать тысяч рублей 00 копеек",
        "Без НДС (упрощённая система налогообложения)",
    ] {
        assert!(text.contains(needle), "the act says «{needle}»:\n{text}");
    }
    assert!(matches!(
        documents::open_document(&pool, Some(&st), &other, act.document_id).await,
        Err(documents::DocumentError::Rbac(_))
    ));
    // Issued once; the stored document can't be changed.
    assert!(matches!(
        settlements::issue_act(&pool, Some(&st), Some(&r), &admin, s.id, false).await,
        Err(SettlementError::Conflict(_))
    ));
    assert!(sqlx::query("update documents set sha256 = repeat('0', 64)")
        .execute(&pool)
        .await
        .is_err());

    // Payments: at most what is due, once per key, and the ledger follows.
    assert_eq!(payable(&pool, me.user_id).await, 15_000_00);
    let Err(SettlementError::Validation(f)) =
        settlements::record_payment(&pool, &admin, s.id, &pay("20000", "k1")).await
    else {
        panic!("more than due is refused")
    };
    assert_eq!(f[0].field, "amount");
    settlements::record_payment(&pool, &admin, s.id, &pay("5000", "k1"))
        .await
        .unwrap();
    settlements::record_payment(&pool, &admin, s.id, &pay("5000", "k1"))
        .await
        .unwrap();
    assert_eq!(
        payable(&pool, me.user_id).await,
        10_000_00,
        "a retried payment pays once"
    );
    let row = settlements::settlement(&pool, &me, s.id).await.unwrap().row;
    assert_eq!(
        (row.state, row.due.kopecks()),
        (SettlementState::PartiallyPaid, 10_000_00)
    );

    // The partner uploads the signed scan once.
    assert!(matches!(
        settlements::attach_signed(
            &pool,
            Some(&st),
            &other,
            act.id,
            "a.pdf",
            "application/pdf",
            b"%PDF-1.4".to_vec()
        )
        .await,
        Err(SettlementError::Rbac(_))
    ));
    assert!(matches!(
        settlements::attach_signed(
            &pool,
            Some(&st),
            &me,
            act.id,
            "a.exe",
            "application/x-msdownload",
            b"MZ".to_vec()
        )
        .await,
        Err(SettlementError::Validation(_))
    ));
    settlements::attach_signed(
        &pool,
        Some(&st),
        &me,
        act.id,
        "скан.pdf",
        "application/pdf",
        b"%PDF-1.4 signed".to_vec(),
    )
    .await
    .unwrap();
    assert!(matches!(
        settlements::attach_signed(
            &pool,
            Some(&st),
            &me,
            act.id,
            "b.pdf",
            "application/pdf",
            b"%PDF-1.4".to_vec()
        )
        .await,
        Err(SettlementError::Conflict(_))
    ));

    settlements::record_payment(&pool, &admin, s.id, &pay("10000", "k2"))
        .await
        .unwrap();
    let view = settlements::settlement(&pool, &admin, s.id).await.unwrap();
    assert_eq!((view.row.state, view.payments.len()), (SettlementState::Paid, 2));
    assert_eq!(payable(&pool, me.user_id).await, 0);
    assert!(matches!(
        settlements::record_payment(&pool, &admin, s.id, &pay("1", "k3")).await,
        Err(SettlementError::Conflict(_))
    ));
    let states: Vec<String> = sqlx::query_scalar("select state from accruals")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(states, ["paid"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_correction_replaces_the_act_with_the_next_number_and_late_deals(pool: PgPool) {
    let st = storage();
    st.ensure_bucket().await.unwrap();
    let r = renderer();
    let admin = admin(&pool).await;
    let me = user_with_role(&pool, &admin, "me@example.ru", Role::Partner).await;
    counterparties::update_card(&pool, &me, card_of(&pool, me.user_id).await, &ip_card())
        .await
        .unwrap();
    counterparties::update_card(&pool, &admin, hq(&pool).await, &hq_card())
        .await
        .unwrap();
    issued_deal(&pool, &admin, &me, "+7 916 200 00 02", "1000000").await;
    let s = settlements::settlements(&pool, &admin, &SettlementQuery::default())
        .await
        .unwrap()
        .items[0]
        .clone();
    let first = settlements::issue_act(&pool, Some(&st), Some(&r), &admin, s.id, false)
        .await
        .unwrap();
    issued_deal(&pool, &admin, &me, "+7 916 200 00 03", "2000000").await;
    let row = settlements::settlement(&pool, &admin, s.id).await.unwrap().row;
    assert_eq!(row.unbilled, 1, "the late deal waits for a correction");
    let second = settlements::issue_act(&pool, Some(&st), Some(&r), &admin, s.id, true)
        .await
        .unwrap();
    assert_eq!(second.number, first.number + 1);
    assert_eq!(second.total.kopecks(), 15_000_00);
    assert!(second.replaces.is_some());
    let view = settlements::settlement(&pool, &admin, s.id).await.unwrap();
    assert_eq!(view.acts.len(), 2);
    assert!(view.acts.iter().any(|a| a.id == first.id && a.superseded));
    assert_eq!(
        (view.row.unbilled, view.row.act_total.unwrap().kopecks()),
        (0, 15_000_00)
    );
    let (_, body) = documents::open_document(&pool, Some(&st), &admin, second.document_id)
        .await
        .unwrap();
    let text = pdf_text(&bytes(body).await);
    assert!(text.contains(&format!("взамен акта № {}", first.number)), "{text}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_template_that_does_not_compile_is_never_saved(pool: PgPool) {
    let r = renderer();
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let kind = documents::TemplateKind::Act;
    assert!(documents::template(&pool, &partner, kind).await.is_err());
    let builtin = documents::template(&pool, &admin, kind).await.unwrap();
    assert_eq!(builtin.version, 0);
    assert!(builtin.variables.iter().any(|v| v.name == "d.total_words"));
    let Err(documents::DocumentError::Template { line, .. }) =
        documents::save_template(&pool, Some(&r), &admin, kind, Some("Акт\n#d.nope.deeper")).await
    else {
        panic!("a broken template is refused")
    };
    assert_eq!(line, 2);
    assert_eq!(documents::template(&pool, &admin, kind).await.unwrap().version, 0);
    let saved = documents::save_template(&pool, Some(&r), &admin, kind, Some("= Акт № #d.number\n#d.total_words"))
        .await
        .unwrap();
    assert_eq!(saved.version, 1);
    let pdf = documents::preview(&pool, Some(&r), &admin, kind, &saved.body)
        .await
        .unwrap();
    assert!(pdf_text(&pdf).contains("Тридцать три тысячи рублей"));
}

#[sqlx::test(migrations = "../migrations")]
async fn month_end_issues_every_due_act_once_and_names_the_incomplete(pool: PgPool) {
    let st = storage();
    st.ensure_bucket().await.unwrap();
    let r = renderer();
    let admin = admin(&pool).await;
    let ready = user_with_role(&pool, &admin, "ready@example.ru", Role::Partner).await;
    let bare = user_with_role(&pool, &admin, "bare@example.ru", Role::Partner).await;
    counterparties::update_card(&pool, &ready, card_of(&pool, ready.user_id).await, &ip_card())
        .await
        .unwrap();
    counterparties::update_card(&pool, &admin, hq(&pool).await, &hq_card())
        .await
        .unwrap();
    issued_deal(&pool, &admin, &ready, "+7 916 200 00 04", "1000000").await;
    issued_deal(&pool, &admin, &bare, "+7 916 200 00 05", "1000000").await;
    let month = domain::time::local(chrono::Utc::now()).format("%Y-%m").to_string();
    assert!(matches!(
        settlements::issue_month_acts(&pool, Some(&st), Some(&r), &ready, &month).await,
        Err(SettlementError::Rbac(_))
    ));
    // S3 refusing every write undoes the whole chunk: no act, no number used.
    assert!(
        settlements::issue_month_acts(&pool, Some(&broken_storage()), Some(&r), &admin, &month)
            .await
            .is_err()
    );
    let (acts, numbers): (i64, i64) = sqlx::query_as(
        "select (select count(*) from acts), (select count(*) from document_numbers where kind = 'act')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((acts, numbers), (0, 0));
    let done = settlements::issue_month_acts(&pool, Some(&st), Some(&r), &admin, &month)
        .await
        .unwrap();
    assert_eq!(done.issued, 1);
    let first: i32 = sqlx::query_scalar("select number from acts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(first, 1, "the failed run used no number");
    assert_eq!(done.skipped.len(), 1);
    assert!(done.skipped[0].1.contains("ОГРНИП"), "{:?}", done.skipped);
    let again = settlements::issue_month_acts(&pool, Some(&st), Some(&r), &admin, &month)
        .await
        .unwrap();
    assert_eq!(
        (again.issued, again.skipped.len()),
        (0, 1),
        "issued acts are not issued again"
    );
}
