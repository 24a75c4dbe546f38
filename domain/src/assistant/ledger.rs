//! The credits ledger of an assistant bot, as the CRM reads it: every
//! question paid with a credit, every credit given back for a failed
//! answer, every pack bought or refunded and every adjustment by hand,
//! newest first, searchable and exportable (bots:view on the bot). The
//! entries themselves are written by `wallet.rs` and never change.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::{authorize_on_bot, AssistantError};
use crate::rbac::{BotOp, Operation};
use crate::{Actor, Page};

/// The reasons an entry may have, in the order the CRM offers them.
pub const REASONS: [&str; 5] = ["purchase", "manual", "question", "refund_failed", "refund_payment"];

/// What a reason is called in Russian.
pub fn reason_label(reason: &str) -> &'static str {
    match reason {
        "question" => "Вопрос",
        "refund_failed" => "Возврат за сбой ИИ",
        "purchase" => "Покупка",
        "refund_payment" => "Возврат платежа",
        "manual" => "Вручную",
        _ => "—",
    }
}

/// What the ledger is narrowed to.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LedgerFilter {
    /// A user's name, @username or chat id, or words of a note.
    #[serde(default)]
    pub q: String,
    /// One of `REASONS` (empty: all).
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub chat_id: Option<i64>,
    /// The first and the last day (the company's days), both included.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
    #[serde(default)]
    pub page: Option<i64>,
}

/// One entry with what it was for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerLine {
    pub id: i64,
    pub chat_id: i64,
    pub name: String,
    pub username: String,
    /// Credits added (positive) or taken (negative).
    pub delta: i32,
    pub reason: String,
    /// The question paid for or given back (its first 200 characters).
    pub question: String,
    /// The plan bought or refunded, with its price in Stars.
    pub plan: String,
    pub stars: Option<i32>,
    /// Who adjusted by hand, and why.
    pub actor_name: String,
    pub note: String,
    pub question_id: Option<Uuid>,
    pub payment_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A page of the ledger with the sums of everything the filter matches.
#[derive(Debug, Clone, Serialize)]
pub struct Ledger {
    #[serde(flatten)]
    pub page: Page<LedgerLine>,
    /// Credits added and taken (a positive number) on all pages.
    pub credited: i64,
    pub debited: i64,
}

/// The bot's ledger, newest first, narrowed by `filter`. `per_page` is
/// capped at 10,000 (the export reads the first such page).
pub async fn credit_ledger(
    pool: &PgPool,
    actor: &Actor,
    bot: Uuid,
    filter: &LedgerFilter,
    per_page: i64,
) -> Result<Ledger, AssistantError> {
    authorize_on_bot(pool, actor, Operation::Bots(BotOp::View), bot).await?;
    let reason = filter.reason.trim();
    if !reason.is_empty() && !REASONS.contains(&reason) {
        return Err(AssistantError::invalid(
            "reason",
            "Операция: purchase, manual, question, refund_failed или refund_payment",
        ));
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if from > to {
            return Err(AssistantError::invalid("from", "Начало периода позже его конца"));
        }
    }
    let per_page = per_page.clamp(1, 10_000);
    let page = filter.page.unwrap_or(1).clamp(1, 100_000);
    let q = filter.q.trim().trim_start_matches('@').to_lowercase();
    let like = crate::like_contains(&q);
    let chat_in_q: Option<i64> = q.parse().ok();
    let from = filter.from.map(crate::time::start_of_day);
    let until = filter
        .to
        .map(|d| crate::time::start_of_day(d + chrono::Duration::days(1)));
    let args = Narrowed {
        bot,
        reason,
        chat_id: filter.chat_id,
        from,
        until,
        q: &q,
        chat_in_q,
        like: &like,
    };
    let rows = narrowed_page(pool, &args, per_page, (page - 1) * per_page).await?;
    // A page past the end has no row to carry the sums: read them from the first.
    let sums = match rows.first() {
        Some(r) => r.sums,
        None if page > 1 => narrowed_page(pool, &args, 1, 0)
            .await?
            .first()
            .map(|r| r.sums)
            .unwrap_or_default(),
        None => Sums::default(),
    };
    let items = rows.into_iter().map(|r| r.line).collect();
    Ok(Ledger {
        page: Page {
            items,
            total: sums.total,
            page,
            per_page,
        },
        credited: sums.credited,
        debited: sums.debited,
    })
}

/// The ledger as a CSV file for a spreadsheet: «;» between cells, UTF-8
/// with a BOM, times in the company's zone, text that looks like a formula
/// defused.
pub fn ledger_csv(lines: &[LedgerLine]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record([
        "№",
        "Когда",
        "Chat ID",
        "Пользователь",
        "Username",
        "Вопросов",
        "Операция",
        "Вопрос",
        "Тариф",
        "Звёзды",
        "Кто",
        "Причина",
    ])?;
    for l in lines {
        w.write_record([
            l.id.to_string(),
            crate::time::datetime_seconds(l.created_at),
            l.chat_id.to_string(),
            crate::leads::spreadsheet_text(&l.name),
            crate::leads::spreadsheet_text(&l.username),
            format!("{:+}", l.delta),
            reason_label(&l.reason).to_string(),
            crate::leads::spreadsheet_text(&l.question),
            crate::leads::spreadsheet_text(&l.plan),
            l.stars.map(|s| s.to_string()).unwrap_or_default(),
            crate::leads::spreadsheet_text(&l.actor_name),
            crate::leads::spreadsheet_text(&l.note),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The ledger's filter as its query takes it.
struct Narrowed<'a> {
    bot: Uuid,
    reason: &'a str,
    chat_id: Option<i64>,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    q: &'a str,
    chat_in_q: Option<i64>,
    like: &'a str,
}

/// How many entries the filter matches and what they add and take.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    total: i64,
    credited: i64,
    debited: i64,
}

struct Row {
    line: LedgerLine,
    sums: Sums,
}

/// One page of the narrowed ledger, each row with the sums over all pages
/// (window functions run before the limit).
async fn narrowed_page(pool: &PgPool, n: &Narrowed<'_>, limit: i64, offset: i64) -> Result<Vec<Row>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select e.id, e.chat_id,
                  trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')) as "name!",
                  coalesce(c.username, '') as "username!",
                  e.delta, e.reason,
                  coalesce(left(q.question, 200), '') as "question!",
                  coalesce(pl.title, '') as "plan!", p.stars as "stars?",
                  coalesce(u.full_name, '') as "actor_name!", e.note,
                  e.question_id, e.payment_id, e.created_at as "created_at: DateTime<Utc>",
                  count(*) over () as "total!",
                  coalesce(sum(e.delta) filter (where e.delta > 0) over (), 0)::bigint as "credited!",
                  coalesce(-sum(e.delta) filter (where e.delta < 0) over (), 0)::bigint as "debited!"
           from assistant_credit_entries e
           left join bot_chats c on c.bot_id = e.bot_id and c.chat_id = e.chat_id
           left join assistant_questions q on q.id = e.question_id
           left join assistant_payments p on p.id = e.payment_id
           left join assistant_plans pl on pl.id = p.plan_id
           left join users u on u.id = e.actor_id
           where e.bot_id = $1 and ($2 = '' or e.reason = $2) and ($3::bigint is null or e.chat_id = $3)
             and ($4::timestamptz is null or e.created_at >= $4) and ($5::timestamptz is null or e.created_at < $5)
             and ($6 = '' or e.chat_id = $7
                  or lower(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')) like $8
                  or lower(coalesce(c.username, '')) like $8
                  or lower(e.note) like $8)
           order by e.id desc
           limit $9 offset $10"#,
        n.bot,
        n.reason,
        n.chat_id,
        n.from as _,
        n.until as _,
        n.q,
        n.chat_in_q,
        n.like,
        limit,
        offset
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Row {
            sums: Sums {
                total: r.total,
                credited: r.credited,
                debited: r.debited,
            },
            line: LedgerLine {
                id: r.id,
                chat_id: r.chat_id,
                name: r.name,
                username: r.username,
                delta: r.delta,
                reason: r.reason,
                question: r.question,
                plan: r.plan,
                stars: r.stars,
                actor_name: r.actor_name,
                note: r.note,
                question_id: r.question_id,
                payment_id: r.payment_id,
                created_at: r.created_at,
            },
        })
        .collect())
}
