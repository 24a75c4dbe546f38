//! What the CRM reads about an assistant bot: its users with their
//! standing, the log of questions and answers, and the figures by day
//! (questions, failures, latency, Stars taken and given back). All with
//! bots:view on the bot.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::{authorize_on_bot, AssistantError};
use crate::rbac::{BotOp, Operation};
use crate::{Actor, Page};

const PER_PAGE: i64 = 50;

/// One user of the bot with what they may still ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserLine {
    pub chat_id: i64,
    pub name: String,
    pub username: String,
    pub credits: i32,
    pub trial_started: bool,
    pub trial_left: Option<i32>,
    pub subscription_until: Option<DateTime<Utc>>,
    pub questions: i64,
    pub stars_paid: i64,
    pub last_question_at: Option<DateTime<Utc>>,
}

/// The bot's users who have a wallet (tried, bought or were given
/// questions), found by name, @username or chat id; the most recent first.
pub async fn list_users(
    pool: &PgPool,
    actor: &Actor,
    bot: Uuid,
    query: &str,
    page: i64,
) -> Result<Page<UserLine>, AssistantError> {
    authorize_on_bot(pool, actor, Operation::Bots(BotOp::View), bot).await?;
    let page = page.clamp(1, 100_000);
    let q = query.trim().trim_start_matches('@').to_lowercase();
    let like = crate::like_contains(&q);
    let chat: Option<i64> = q.parse().ok();
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!"
           from assistant_wallets w
           left join bot_chats c on c.bot_id = w.bot_id and c.chat_id = w.chat_id
           where w.bot_id = $1
             and ($2 = '' or w.chat_id = $3
                  or lower(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')) like $4
                  or lower(coalesce(c.username, '')) like $4)"#,
        bot,
        q,
        chat,
        like
    )
    .fetch_one(pool)
    .await?;
    let items = sqlx::query_as!(
        UserLine,
        r#"select w.chat_id,
                  trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')) as "name!",
                  coalesce(c.username, '') as "username!",
                  w.credits, w.trial_started_at is not null as "trial_started!", w.trial_left,
                  w.subscription_until as "subscription_until: DateTime<Utc>",
                  (select count(*) from assistant_questions q where q.bot_id = w.bot_id and q.chat_id = w.chat_id) as "questions!",
                  (select coalesce(sum(p.stars), 0) from assistant_payments p
                    where p.bot_id = w.bot_id and p.chat_id = w.chat_id and p.state = 'paid')::bigint as "stars_paid!",
                  (select max(q.created_at) from assistant_questions q
                    where q.bot_id = w.bot_id and q.chat_id = w.chat_id) as "last_question_at: DateTime<Utc>"
           from assistant_wallets w
           left join bot_chats c on c.bot_id = w.bot_id and c.chat_id = w.chat_id
           where w.bot_id = $1
             and ($2 = '' or w.chat_id = $3
                  or lower(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')) like $4
                  or lower(coalesce(c.username, '')) like $4)
           order by w.updated_at desc, w.chat_id
           limit $5 offset $6"#,
        bot,
        q,
        chat,
        like,
        PER_PAGE,
        (page - 1) * PER_PAGE
    )
    .fetch_all(pool)
    .await?;
    Ok(Page {
        items,
        total,
        page,
        per_page: PER_PAGE,
    })
}

/// What the interaction log is narrowed to.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogFilter {
    /// Words in the question or the answer.
    #[serde(default)]
    pub q: String,
    /// `pending`, `answered`, `failed` or `dropped` (empty: all).
    #[serde(default)]
    pub state: String,
    /// `question` (users' questions) or `flow` (the flows' «Ответ ИИ»
    /// steps); empty: both.
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub chat_id: Option<i64>,
    #[serde(default)]
    pub page: Option<i64>,
}

/// One question with its answer (or why there is none): a user's question
/// to the assistant, or what a flow's «Ответ ИИ» step asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub id: Uuid,
    pub chat_id: i64,
    pub name: String,
    /// `question` or `flow`.
    pub source: String,
    /// The flow whose step asked (empty for a question).
    pub flow: String,
    pub question: String,
    pub answer: String,
    /// `pending`, `answered`, `failed`, or `dropped` (a flow's chat moved
    /// on before the AI answered).
    pub state: String,
    pub paid_with: String,
    pub model: String,
    pub tokens_in: Option<i32>,
    pub tokens_out: Option<i32>,
    pub latency_ms: Option<i32>,
    /// The estimate at the bot's prices, in millionths of a ruble.
    pub cost_micro_rub: Option<i64>,
    pub error: String,
    pub created_at: DateTime<Utc>,
}

/// The bot's questions and answers, newest first, narrowed by `filter`:
/// users' questions and the asks of its flows' AI steps together.
/// `per_page` is capped at 10,000 (the export reads the first such page).
pub async fn ai_log(
    pool: &PgPool,
    actor: &Actor,
    bot: Uuid,
    filter: &LogFilter,
    per_page: i64,
) -> Result<Page<LogLine>, AssistantError> {
    authorize_on_bot(pool, actor, Operation::Bots(BotOp::View), bot).await?;
    let state = filter.state.trim();
    if !["", "pending", "answered", "failed", "dropped"].contains(&state) {
        return Err(AssistantError::invalid(
            "state",
            "Состояние: pending, answered, failed или dropped",
        ));
    }
    let source = filter.source.trim();
    if !["", "question", "flow"].contains(&source) {
        return Err(AssistantError::invalid("source", "Источник: question или flow"));
    }
    let per_page = per_page.clamp(1, 10_000);
    let page = filter.page.unwrap_or(1).clamp(1, 100_000);
    let q = filter.q.trim().to_lowercase();
    let like = crate::like_contains(&q);
    let args = LogArgs {
        bot,
        state,
        chat_id: filter.chat_id,
        q: &q,
        like: &like,
        source,
    };
    let rows = log_page(pool, &args, per_page, (page - 1) * per_page).await?;
    // A page past the end has no row to carry the count: read it from the first.
    let total = match rows.first() {
        Some((_, total)) => *total,
        None if page > 1 => log_page(pool, &args, 1, 0).await?.first().map_or(0, |(_, t)| *t),
        None => 0,
    };
    let items = rows.into_iter().map(|(line, _)| line).collect();
    Ok(Page {
        items,
        total,
        page,
        per_page,
    })
}

/// The log's filter as its query takes it.
struct LogArgs<'a> {
    bot: Uuid,
    state: &'a str,
    chat_id: Option<i64>,
    q: &'a str,
    like: &'a str,
    source: &'a str,
}

/// One page of the narrowed log, each line with how many lines all pages
/// hold (the window runs before the limit). Both sources read as one: the
/// question's text of a flow's ask is the user's message it sent (the
/// last of its messages).
async fn log_page(pool: &PgPool, a: &LogArgs<'_>, limit: i64, offset: i64) -> Result<Vec<(LogLine, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"with log as (
             select q.id, q.chat_id, 'question' as source, '' as flow, q.question, coalesce(q.answer, '') as answer,
                    q.state, coalesce(q.paid_with, '') as paid_with, coalesce(q.model, '') as model,
                    q.tokens_in, q.tokens_out, q.latency_ms, q.cost_micro_rub, coalesce(q.error, '') as error,
                    q.created_at
             from assistant_questions q
             where $6 in ('', 'question') and q.bot_id = $1 and ($2 = '' or q.state = $2)
               and ($3::bigint is null or q.chat_id = $3)
               and ($4 = '' or lower(q.question) like $5 or lower(coalesce(q.answer, '')) like $5)
             union all
             select a.id, a.chat_id, 'flow', coalesce(f.name, ''), coalesce(a.messages->-1->>'content', ''),
                    coalesce(a.answer, ''), a.state, '', coalesce(a.model, ''),
                    a.tokens_in, a.tokens_out, a.latency_ms, a.cost_micro_rub, coalesce(a.error, ''), a.created_at
             from flow_ai_asks a
             left join bot_flows f on f.id = a.flow_id
             where $6 in ('', 'flow') and a.bot_id = $1 and ($2 = '' or a.state = $2)
               and ($3::bigint is null or a.chat_id = $3)
               and ($4 = '' or lower(coalesce(a.messages->-1->>'content', '')) like $5
                    or lower(coalesce(a.answer, '')) like $5)
           )
           select l.id as "id!", l.chat_id as "chat_id!",
                  trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')) as "name!",
                  l.source as "source!", l.flow as "flow!", l.question as "question!", l.answer as "answer!",
                  l.state as "state!", l.paid_with as "paid_with!", l.model as "model!",
                  l.tokens_in, l.tokens_out, l.latency_ms, l.cost_micro_rub, l.error as "error!",
                  l.created_at as "created_at!: DateTime<Utc>",
                  count(*) over () as "total!"
           from log l
           left join bot_chats c on c.bot_id = $1 and c.chat_id = l.chat_id
           order by l.created_at desc, l.id
           limit $7 offset $8"#,
        a.bot,
        a.state,
        a.chat_id,
        a.q,
        a.like,
        a.source,
        limit,
        offset
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let line = LogLine {
                id: r.id,
                chat_id: r.chat_id,
                name: r.name,
                source: r.source,
                flow: r.flow,
                question: r.question,
                answer: r.answer,
                state: r.state,
                paid_with: r.paid_with,
                model: r.model,
                tokens_in: r.tokens_in,
                tokens_out: r.tokens_out,
                latency_ms: r.latency_ms,
                cost_micro_rub: r.cost_micro_rub,
                error: r.error,
                created_at: r.created_at,
            };
            (line, r.total)
        })
        .collect())
}

/// One day of an assistant bot (the company's days).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayStats {
    pub day: NaiveDate,
    pub questions: i64,
    pub failed: i64,
    pub stars: i64,
    pub refunded_stars: i64,
    /// The median and the 95th percentile of answering, in ms (none answered: 0).
    pub latency_p50_ms: i64,
    pub latency_p95_ms: i64,
    /// What the AI cost that day (questions and flow steps), in
    /// millionths of a ruble.
    pub cost_micro_rub: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsView {
    pub days: Vec<DayStats>,
    pub questions: i64,
    pub failed: i64,
    pub stars: i64,
    pub refunded_stars: i64,
    pub users: i64,
    pub paying_users: i64,
    /// What the AI cost over the days (questions and flow steps), in
    /// millionths of a ruble, at the prices when each was answered.
    pub cost_micro_rub: i64,
}

/// The last `days` days (1 to 366) of the bot, day by day, with totals.
pub async fn assistant_stats(pool: &PgPool, actor: &Actor, bot: Uuid, days: i64) -> Result<StatsView, AssistantError> {
    authorize_on_bot(pool, actor, Operation::Bots(BotOp::View), bot).await?;
    let days = days.clamp(1, 366);
    let today = crate::time::local(Utc::now()).date_naive();
    let first = today - Duration::days(days - 1);
    let from = crate::time::start_of_day(first);
    let zone = crate::time::zone().name().to_string();
    let rows = sqlx::query!(
        r#"with d as (
             select generate_series($2::date, $3::date, interval '1 day')::date as day
           ), q as (
             select (created_at at time zone $4)::date as day, count(*) as n,
                    count(*) filter (where state = 'failed') as failed,
                    coalesce(percentile_cont(0.5) within group (order by latency_ms)
                             filter (where state = 'answered'), 0) as p50,
                    coalesce(percentile_cont(0.95) within group (order by latency_ms)
                             filter (where state = 'answered'), 0) as p95
             from assistant_questions where bot_id = $1 and created_at >= $5 group by 1
           ), p as (
             select (created_at at time zone $4)::date as day, sum(stars) as stars
             from assistant_payments where bot_id = $1 and created_at >= $5 group by 1
           ), r as (
             select (refunded_at at time zone $4)::date as day, sum(stars) as stars
             from assistant_payments where bot_id = $1 and refunded_at >= $5 group by 1
           ), c as (
             select (created_at at time zone $4)::date as day, sum(cost_micro_rub) as cost
             from (select created_at, cost_micro_rub from assistant_questions where bot_id = $1 and created_at >= $5
                   union all
                   select created_at, cost_micro_rub from flow_ai_asks where bot_id = $1 and created_at >= $5) a
             group by 1
           )
           select d.day as "day!: NaiveDate", coalesce(q.n, 0) as "questions!", coalesce(q.failed, 0) as "failed!",
                  coalesce(p.stars, 0)::bigint as "stars!", coalesce(r.stars, 0)::bigint as "refunded!",
                  coalesce(q.p50, 0)::bigint as "p50!", coalesce(q.p95, 0)::bigint as "p95!",
                  coalesce(c.cost, 0)::bigint as "cost!"
           from d left join q using (day) left join p using (day) left join r using (day)
                  left join c using (day)
           order by d.day"#,
        bot,
        first as _,
        today as _,
        zone,
        from as _
    )
    .fetch_all(pool)
    .await?;
    let users = sqlx::query!(
        r#"select count(*) as "users!",
                  count(*) filter (where exists (select 1 from assistant_payments p
                                   where p.bot_id = w.bot_id and p.chat_id = w.chat_id)) as "paying!"
           from assistant_wallets w where w.bot_id = $1"#,
        bot
    )
    .fetch_one(pool)
    .await?;
    let days: Vec<DayStats> = rows
        .into_iter()
        .map(|r| DayStats {
            day: r.day,
            questions: r.questions,
            failed: r.failed,
            stars: r.stars,
            refunded_stars: r.refunded,
            latency_p50_ms: r.p50,
            latency_p95_ms: r.p95,
            cost_micro_rub: r.cost,
        })
        .collect();
    Ok(StatsView {
        questions: days.iter().map(|d| d.questions).sum(),
        failed: days.iter().map(|d| d.failed).sum(),
        stars: days.iter().map(|d| d.stars).sum(),
        refunded_stars: days.iter().map(|d| d.refunded_stars).sum(),
        users: users.users,
        paying_users: users.paying,
        cost_micro_rub: days.iter().map(|d| d.cost_micro_rub).sum(),
        days,
    })
}

/// One user's standing with the bot, for the CRM (bots:view on the bot).
pub async fn user_standing(
    pool: &PgPool,
    actor: &Actor,
    bot: Uuid,
    chat: i64,
) -> Result<super::Standing, AssistantError> {
    authorize_on_bot(pool, actor, Operation::Bots(BotOp::View), bot).await?;
    super::standing(pool, bot, chat).await
}

/// The log as a CSV file for a spreadsheet: «;» between cells, UTF-8 with
/// a BOM, times in the company's zone, text that looks like a formula
/// defused.
pub fn log_csv(lines: &[LogLine]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record([
        "Когда",
        "Chat ID",
        "Пользователь",
        "Источник",
        "Вопрос",
        "Ответ",
        "Состояние",
        "Оплата",
        "Модель",
        "Токены (вход)",
        "Токены (выход)",
        "Задержка, мс",
        "Стоимость, ₽",
        "Ошибка",
    ])?;
    let num = |n: Option<i32>| n.map(|n| n.to_string()).unwrap_or_default();
    for l in lines {
        w.write_record([
            crate::time::datetime_seconds(l.created_at),
            l.chat_id.to_string(),
            crate::leads::spreadsheet_text(&l.name),
            if l.source == "flow" {
                crate::leads::spreadsheet_text(&format!("Сценарий «{}»", l.flow))
            } else {
                "Вопрос пользователя".to_string()
            },
            crate::leads::spreadsheet_text(&l.question),
            crate::leads::spreadsheet_text(&l.answer),
            l.state.clone(),
            l.paid_with.clone(),
            l.model.clone(),
            num(l.tokens_in),
            num(l.tokens_out),
            num(l.latency_ms),
            l.cost_micro_rub.map(cost_number).unwrap_or_default(),
            crate::leads::spreadsheet_text(&l.error),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// A cost estimate as a number of rubles for a spreadsheet: «0,0075»,
/// «12,5» (up to six decimals, trailing zeros dropped).
pub fn cost_number(micro_rub: i64) -> String {
    let sign = if micro_rub < 0 { "-" } else { "" };
    let abs = micro_rub.unsigned_abs();
    let frac = format!("{:06}", abs % 1_000_000);
    let frac = frac.trim_end_matches('0');
    match frac.is_empty() {
        true => format!("{sign}{}", abs / 1_000_000),
        false => format!("{sign}{},{frac}", abs / 1_000_000),
    }
}

/// A cost estimate as people read it: «≈ 0,0075 ₽» below a ruble (four
/// decimals, at least one significant), «≈ 12,50 ₽» above.
pub fn cost_text(micro_rub: i64) -> String {
    let abs = micro_rub.unsigned_abs();
    if abs >= 1_000_000 {
        let kop = (abs + 5_000) / 10_000;
        return format!("≈ {},{:02} ₽", crate::types::group_digits(kop / 100), kop % 100);
    }
    let tenth_kop = (abs + 50) / 100;
    match tenth_kop {
        0 if abs > 0 => "< 0,0001 ₽".into(),
        n => format!("≈ 0,{n:04} ₽"),
    }
}

#[cfg(test)]
mod tests {
    use super::{cost_number, cost_text};

    #[test]
    fn costs_read_as_rubles() {
        assert_eq!(cost_number(7_500), "0,0075");
        assert_eq!(cost_number(12_500_000), "12,5");
        assert_eq!(cost_number(3_000_000), "3");
        assert_eq!(cost_text(7_500), "≈ 0,0075 ₽");
        assert_eq!(cost_text(20), "< 0,0001 ₽");
        assert_eq!(cost_text(0), "≈ 0,0000 ₽");
        assert_eq!(cost_text(1_234_567_890), "≈ 1\u{a0}234,57 ₽");
    }
}
