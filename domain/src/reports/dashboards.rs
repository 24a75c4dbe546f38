//! Each role's dashboard: cards of figures, charts and tables, built from
//! the same report engine (so a card's numbers are a report's numbers, in
//! the reader's scope) and from the money tables (issues, accruals, lots,
//! broadcasts) where the reader may see them. A card the reader's rights
//! don't reach is left out, not shown empty.

use chrono::{Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::definition::{ChartKind, DefinitionInput, Period, Unit};
use super::{run_report, ReportError, ReportResult};
use crate::rbac::{self, AuctionOp, BroadcastOp, CommissionOp, LeadOp, Operation, RbacError, Target};
use crate::types::Role;
use crate::Actor;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub color: String,
    pub unit: Unit,
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub label: String,
    pub value: f64,
    pub unit: Unit,
    /// A change against the previous period, percent.
    pub change: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    Chart,
    Figures,
    Table,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub key: String,
    pub title: String,
    pub kind: CardKind,
    pub chart: ChartKind,
    /// What the labels are («Месяц», «Источник»…).
    pub category_label: String,
    pub labels: Vec<String>,
    /// Per label, the lead list's query string of its leads, where it has one.
    pub drills: Vec<Option<String>>,
    pub series: Vec<Series>,
    pub figures: Vec<Figure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub role: Role,
    pub title: String,
    pub cards: Vec<Card>,
}

const PALETTE: [&str; 8] = [
    "#1f6feb", "#2da44e", "#bf8700", "#cf222e", "#8250df", "#1b7c83", "#e16f24", "#6e7781",
];

fn color(i: usize) -> String {
    PALETTE[i % PALETTE.len()].to_string()
}

fn today() -> NaiveDate {
    crate::time::local(Utc::now()).date_naive()
}

/// The last `n` whole months through today.
fn last_months(n: u32) -> Period {
    let t = today();
    let first = t.with_day(1).unwrap_or(t) - Months::new(n - 1);
    Period { from: first, to: t }
}

fn this_month() -> Period {
    let t = today();
    Period {
        from: t.with_day(1).unwrap_or(t),
        to: t,
    }
}

fn def(rows: &[&str], columns: &[&str], measures: &[&str], period: Option<Period>, filter: &str) -> DefinitionInput {
    DefinitionInput {
        subject: "leads".into(),
        filter: filter.into(),
        period,
        rows: rows.iter().map(|s| s.to_string()).collect(),
        columns: columns.iter().map(|s| s.to_string()).collect(),
        measures: measures.iter().map(|s| s.to_string()).collect(),
        chart: None,
        sort: None,
    }
}

/// A report as a chart card: rows are the labels; without columns each
/// measure is a series, with columns each column is one (first measure).
fn chart_card(key: &str, title: &str, r: &ReportResult, measures_as_series: usize) -> Card {
    let labels: Vec<String> = r.rows.iter().map(|h| h.labels.join(" · ")).collect();
    let series = if r.columns.is_empty() {
        r.measures
            .iter()
            .take(measures_as_series.max(1))
            .enumerate()
            .map(|(i, m)| Series {
                name: m.label.clone(),
                color: color(i),
                unit: m.unit,
                values: r.row_totals.iter().map(|t| t.values[i].unwrap_or(0.0)).collect(),
            })
            .collect()
    } else {
        r.columns
            .iter()
            .enumerate()
            .map(|(ci, c)| Series {
                name: c.labels.join(" · "),
                color: color(ci),
                unit: r.measures[0].unit,
                values: (0..r.rows.len())
                    .map(|ri| {
                        r.cells
                            .iter()
                            .find(|x| x.row == ri && x.column == ci)
                            .and_then(|x| x.values[0])
                            .unwrap_or(0.0)
                    })
                    .collect(),
            })
            .collect()
    };
    Card {
        key: key.into(),
        title: title.into(),
        kind: CardKind::Chart,
        chart: r.chart,
        category_label: r
            .row_dimensions
            .iter()
            .map(|d| d.label.clone())
            .collect::<Vec<_>>()
            .join(" · "),
        labels,
        drills: r.row_totals.iter().map(|t| t.drill.clone()).collect(),
        series,
        figures: vec![],
    }
}

fn figures_card(key: &str, title: &str, figures: Vec<Figure>) -> Card {
    Card {
        key: key.into(),
        title: title.into(),
        kind: CardKind::Figures,
        chart: ChartKind::None,
        category_label: String::new(),
        labels: vec![],
        drills: vec![],
        series: vec![],
        figures,
    }
}

fn figure(label: &str, value: f64, unit: Unit) -> Figure {
    Figure {
        label: label.into(),
        value,
        unit,
        change: None,
    }
}

async fn allowed(pool: &PgPool, actor: &Actor, op: Operation) -> bool {
    rbac::authorize(pool, actor, op, Target::Collection).await.is_ok()
}

/// The dashboard of `role` — only one's own role's.
pub async fn dashboard(pool: &PgPool, actor: &Actor, role: Role) -> Result<Dashboard, ReportError> {
    if role != actor.role {
        return Err(RbacError::NotAllowed.into());
    }
    super::authorize(pool, actor, crate::rbac::ReportOp::View).await?;
    let cards = match role {
        Role::Admin => admin_cards(pool, actor).await?,
        Role::Employee => employee_cards(pool, actor).await?,
        Role::Partner => partner_cards(pool, actor).await?,
        Role::Franchisee => franchisee_cards(pool, actor).await?,
        Role::Guest => return Err(RbacError::NotAllowed.into()),
    };
    let title = match role {
        Role::Admin => "Дашборд руководителя",
        Role::Employee => "Мой дашборд",
        Role::Partner => "Дашборд партнёра",
        Role::Franchisee => "Дашборд офиса",
        Role::Guest => "",
    };
    Ok(Dashboard {
        role,
        title: title.into(),
        cards,
    })
}

/// The card `key` of the reader's dashboard (for its export).
pub async fn dashboard_card(pool: &PgPool, actor: &Actor, key: &str) -> Result<Card, ReportError> {
    dashboard(pool, actor, actor.role)
        .await?
        .cards
        .into_iter()
        .find(|c| c.key == key)
        .ok_or(ReportError::NotFound)
}

/// The first pipeline (the one the board opens on).
async fn main_pipeline(pool: &PgPool) -> Result<Option<(Uuid, String)>, ReportError> {
    Ok(
        sqlx::query!("select id, name from pipelines order by position, created_at limit 1")
            .fetch_optional(pool)
            .await?
            .map(|r| (r.id, r.name)),
    )
}

/// How many of the pipeline's leads (in the reader's scope and period)
/// reached each stage — entered it or a later one, lost ones aside.
pub async fn funnel(
    pool: &PgPool,
    actor: &Actor,
    pipeline: Uuid,
    period: Option<Period>,
) -> Result<Vec<(Uuid, String, i64)>, ReportError> {
    let input = def(&[], &[], &["count"], period, &format!("pipeline_id={pipeline}"));
    let d = input.parse()?;
    super::authorize(pool, actor, crate::rbac::ReportOp::View).await?;
    let scope = rbac::authorize(pool, actor, Operation::Leads(LeadOp::List), Target::Collection).await?;
    let filter = super::query::lead_filter(&d, period)?;
    let stages = sqlx::query!(
        "select id, name, position from stages where pipeline_id = $1 and kind <> 'lost' order by position",
        pipeline
    )
    .fetch_all(pool)
    .await?;
    let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new("select l.reached_position, count(*)::int8");
    if !super::query::push_scoped_leads(&mut q, actor, scope, &filter, &[], &[]) {
        crate::leads::push_filters(&mut q, actor, scope, &filter, &[]);
    }
    q.push(" group by 1");
    let mut tx = pool.begin().await?;
    sqlx::query("set local jit = off").execute(&mut *tx).await?;
    let counts: Vec<(Option<i32>, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(stages
        .into_iter()
        .map(|s| {
            let reached = counts
                .iter()
                .filter(|(pos, _)| pos.is_some_and(|p| p >= s.position))
                .map(|(_, n)| n)
                .sum();
            (s.id, s.name, reached)
        })
        .collect())
}

async fn funnel_card(pool: &PgPool, actor: &Actor, period: Period) -> Result<Option<Card>, ReportError> {
    let Some((pipeline, name)) = main_pipeline(pool).await? else {
        return Ok(None);
    };
    let stages = funnel(pool, actor, pipeline, Some(period)).await?;
    Ok(Some(Card {
        key: "funnel".into(),
        title: format!("Воронка «{name}»"),
        kind: CardKind::Chart,
        chart: ChartKind::Funnel,
        category_label: "Этап".into(),
        labels: stages.iter().map(|s| s.1.clone()).collect(),
        // Each step opens the leads that got to it, in the card's period.
        drills: stages
            .iter()
            .map(|s| {
                Some(format!(
                    "pipeline_id={pipeline}&reached={}&created_from={}&created_to={}",
                    s.0,
                    period.from.format("%Y-%m-%d"),
                    period.to.format("%Y-%m-%d")
                ))
            })
            .collect(),
        series: vec![Series {
            name: "Дошли до этапа".into(),
            color: color(0),
            unit: Unit::Count,
            values: stages.iter().map(|s| s.2 as f64).collect(),
        }],
        figures: vec![],
    }))
}

async fn admin_cards(pool: &PgPool, actor: &Actor) -> Result<Vec<Card>, ReportError> {
    let half_year = last_months(6);
    let mut cards = vec![];
    let month = this_month();
    let r = run_report(
        pool,
        actor,
        &def(
            &[],
            &[],
            &["count", "sum:amount", "conversion:won", "change:count"],
            Some(month),
            "",
        ),
    )
    .await?;
    let v = |i: usize| r.totals.values[i].unwrap_or(0.0);
    cards.push(figures_card(
        "month",
        "Этот месяц",
        vec![
            Figure {
                label: "Новых лидов".into(),
                value: v(0),
                unit: Unit::Count,
                change: r.totals.values[3],
            },
            figure("Сумма заявок", v(1), Unit::Rubles),
            figure("Конверсия в сделку", v(2), Unit::Percent),
        ],
    ));
    if let Some(c) = money_card(pool, actor, half_year).await? {
        cards.push(c);
    }
    if let Some(c) = funnel_card(pool, actor, half_year).await? {
        cards.push(c);
    }
    let by_source = run_report(
        pool,
        actor,
        &def(&["created_at:month"], &["source"], &["count"], Some(half_year), ""),
    )
    .await?;
    cards.push(chart_card("sources", "Лиды по источникам", &by_source, 1));
    let by_product = run_report(
        pool,
        actor,
        &def(&["product"], &[], &["count", "sum:amount"], Some(half_year), ""),
    )
    .await?;
    cards.push(chart_card("products", "Лиды по продуктам", &by_product, 1));
    cards.push(kpi_card(pool, actor, month).await?);
    if let Some(c) = partner_income_card(pool, actor).await? {
        cards.push(c);
    }
    if let Some(c) = auction_card(pool, actor, month).await? {
        cards.push(c);
    }
    if let Some(c) = broadcasts_card(pool, actor).await? {
        cards.push(c);
    }
    Ok(cards)
}

/// Money by month: loans issued, the banks' fees to the company (its
/// commission income), auction sales, partners' commission.
async fn money_card(pool: &PgPool, actor: &Actor, period: Period) -> Result<Option<Card>, ReportError> {
    if !allowed(pool, actor, Operation::Commissions(CommissionOp::ViewAccruals)).await {
        return Ok(None);
    }
    let months: Vec<NaiveDate> = (0..6).map(|i| period.from + Months::new(i)).collect();
    let zone = crate::time::zone().name();
    let from_ts = crate::time::start_of_day(period.from);
    let issued = sqlx::query!(
        r#"select date_trunc('month', issued_on)::date as "m!: NaiveDate", sum(amount_kopecks)::int8 as "k!",
                  coalesce(sum(company_fee_kopecks), 0)::int8 as "fee!"
           from deal_issues where issued_on >= $1 group by 1"#,
        period.from as _
    )
    .fetch_all(pool)
    .await?;
    let lots = sqlx::query!(
        r#"select date_trunc('month', closed_at at time zone $2)::date as "m!: NaiveDate", sum(price_kopecks)::int8 as "k!"
           from lots where state = 'sold' and closed_at >= $1 group by 1"#,
        from_ts as _,
        zone
    )
    .fetch_all(pool)
    .await?;
    let accrued = sqlx::query!(
        r#"select period as "m!: NaiveDate", sum(amount_kopecks)::int8 as "k!"
           from accruals where period >= $1 group by 1"#,
        period.from as _
    )
    .fetch_all(pool)
    .await?;
    let per_month = |rows: Vec<(NaiveDate, i64)>| -> Vec<f64> {
        months
            .iter()
            .map(|m| {
                rows.iter()
                    .filter(|(d, _)| d == m)
                    .map(|(_, k)| *k as f64 / 100.0)
                    .sum()
            })
            .collect()
    };
    Ok(Some(Card {
        key: "money".into(),
        title: "Деньги по месяцам".into(),
        kind: CardKind::Chart,
        chart: ChartKind::Bar,
        category_label: "Месяц".into(),
        labels: months
            .iter()
            .map(|m| super::labels::bucket_label(super::definition::Bucket::Month, *m))
            .collect(),
        drills: vec![None; months.len()],
        series: vec![
            Series {
                name: "Выдано кредитов".into(),
                color: color(0),
                unit: Unit::Rubles,
                values: per_month(issued.iter().map(|r| (r.m, r.k)).collect()),
            },
            Series {
                name: "Комиссия банков компании".into(),
                color: color(3),
                unit: Unit::Rubles,
                values: per_month(issued.iter().map(|r| (r.m, r.fee)).collect()),
            },
            Series {
                name: "Продажи аукциона".into(),
                color: color(1),
                unit: Unit::Rubles,
                values: per_month(lots.into_iter().map(|r| (r.m, r.k)).collect()),
            },
            Series {
                name: "Комиссии партнёрам".into(),
                color: color(2),
                unit: Unit::Rubles,
                values: per_month(accrued.into_iter().map(|r| (r.m, r.k)).collect()),
            },
        ],
        figures: vec![],
    }))
}

/// Per employee this month: leads taken, conversion to a deal, hours from
/// a lead's arrival to its first move or comment, overdue tasks now.
async fn kpi_card(pool: &PgPool, actor: &Actor, period: Period) -> Result<Card, ReportError> {
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::List), Target::Collection).await?;
    let from = crate::time::start_of_day(period.from);
    let rows = sqlx::query!(
        r#"select u.id, u.full_name,
                  count(l.id) as "leads!",
                  count(l.id) filter (where s.kind = 'won') as "won!",
                  avg(extract(epoch from (fa.t - l.created_at)) / 3600.0)::float8 as "hours",
                  (select count(*) from tasks t where t.assignee_id = u.id and t.done_at is null and t.due_at < now()) as "overdue!"
           from users u
           left join leads l on l.responsible_id = u.id and l.deleted_at is null and l.created_at >= $1
           left join stages s on s.id = l.stage_id
           left join lateral (
               select least(
                   (select min(entered_at) from lead_stage_moves m where m.lead_id = l.id and m.entered_at > l.created_at),
                   (select min(created_at) from lead_comments c where c.lead_id = l.id)) as t
           ) fa on true
           where u.role in ('admin', 'employee') and u.status = 'active' and u.blocked_at is null
           group by u.id, u.full_name
           order by count(l.id) desc, u.full_name
           limit 50"#,
        from as _
    )
    .fetch_all(pool)
    .await?;
    Ok(Card {
        key: "kpi".into(),
        title: "KPI сотрудников за месяц".into(),
        kind: CardKind::Table,
        chart: ChartKind::None,
        category_label: "Сотрудник".into(),
        labels: rows.iter().map(|r| r.full_name.clone()).collect(),
        drills: rows
            .iter()
            .map(|r| {
                Some(format!(
                    "responsible_id={}&created_from={}",
                    r.id,
                    period.from.format("%Y-%m-%d")
                ))
            })
            .collect(),
        series: vec![
            Series {
                name: "Лидов".into(),
                color: color(0),
                unit: Unit::Count,
                values: rows.iter().map(|r| r.leads as f64).collect(),
            },
            Series {
                name: "Конверсия".into(),
                color: color(1),
                unit: Unit::Percent,
                values: rows
                    .iter()
                    .map(|r| {
                        if r.leads > 0 {
                            r.won as f64 / r.leads as f64 * 100.0
                        } else {
                            0.0
                        }
                    })
                    .collect(),
            },
            Series {
                name: "Часов до первого действия".into(),
                color: color(2),
                unit: Unit::Hours,
                values: rows.iter().map(|r| r.hours.unwrap_or(0.0)).collect(),
            },
            Series {
                name: "Просрочено задач".into(),
                color: color(3),
                unit: Unit::Count,
                values: rows.iter().map(|r| r.overdue as f64).collect(),
            },
        ],
        figures: vec![],
    })
}

/// The ten partners who earned the most commission this year.
async fn partner_income_card(pool: &PgPool, actor: &Actor) -> Result<Option<Card>, ReportError> {
    if !allowed(pool, actor, Operation::Commissions(CommissionOp::ViewAccruals)).await {
        return Ok(None);
    }
    let t = today();
    let year = NaiveDate::from_ymd_opt(t.year(), 1, 1).unwrap_or(t);
    let rows = sqlx::query!(
        r#"select coalesce(u.full_name, cc.name) as "name!", sum(a.amount_kopecks)::int8 as "k!"
           from accruals a join company_cards cc on cc.id = a.card_id left join users u on u.id = cc.user_id
           where a.period >= $1
           group by 1 order by 2 desc limit 10"#,
        year as _
    )
    .fetch_all(pool)
    .await?;
    Ok(Some(Card {
        key: "partners".into(),
        title: "Доход партнёров за год".into(),
        kind: CardKind::Chart,
        chart: ChartKind::Bar,
        category_label: "Партнёр".into(),
        labels: rows.iter().map(|r| r.name.clone()).collect(),
        drills: vec![None; rows.len()],
        series: vec![Series {
            name: "Начислено".into(),
            color: color(1),
            unit: Unit::Rubles,
            values: rows.iter().map(|r| r.k as f64 / 100.0).collect(),
        }],
        figures: vec![],
    }))
}

async fn auction_card(pool: &PgPool, actor: &Actor, period: Period) -> Result<Option<Card>, ReportError> {
    if !allowed(pool, actor, Operation::Auction(AuctionOp::ManageLots)).await {
        return Ok(None);
    }
    let from = crate::time::start_of_day(period.from);
    let r = sqlx::query!(
        r#"select count(*) filter (where state = 'sold') as "sold!",
                  count(*) filter (where state = 'unsold') as "unsold!",
                  coalesce(sum(price_kopecks) filter (where state = 'sold'), 0)::int8 as "revenue!",
                  coalesce(avg(price_kopecks) filter (where state = 'sold'), 0)::float8 as "avg!"
           from lots where closed_at >= $1"#,
        from as _
    )
    .fetch_one(pool)
    .await?;
    Ok(Some(figures_card(
        "auction",
        "Аукцион за месяц",
        vec![
            figure("Продано лотов", r.sold as f64, Unit::Count),
            figure("Не продано", r.unsold as f64, Unit::Count),
            figure("Выручка", r.revenue as f64 / 100.0, Unit::Rubles),
            figure("Средняя цена", r.avg / 100.0, Unit::Rubles),
        ],
    )))
}

/// Broadcasts of the last 30 days, counted from their recipients.
async fn broadcasts_card(pool: &PgPool, actor: &Actor) -> Result<Option<Card>, ReportError> {
    let scope = match rbac::authorize(
        pool,
        actor,
        Operation::Broadcasts(BroadcastOp::View),
        Target::Collection,
    )
    .await
    {
        Ok(s) => s,
        Err(_) => return Ok(None),
    };
    if scope != crate::types::Scope::All {
        return Ok(None);
    }
    let r = sqlx::query!(
        r#"select count(*) filter (where r.status = 'delivered') as "delivered!",
                  count(*) filter (where r.engaged_at is not null) as "engaged!",
                  count(*) filter (where r.status = 'blocked' or r.blocked_at is not null) as "blocked!",
                  count(*) filter (where r.opted_out_at is not null) as "opted_out!"
           from broadcast_recipients r join broadcasts b on b.id = r.broadcast_id
           where b.created_at >= now() - interval '30 days'"#
    )
    .fetch_one(pool)
    .await?;
    let engaged = if r.delivered > 0 {
        r.engaged as f64 / r.delivered as f64 * 100.0
    } else {
        0.0
    };
    Ok(Some(figures_card(
        "broadcasts",
        "Рассылки за 30 дней",
        vec![
            figure("Доставлено", r.delivered as f64, Unit::Count),
            figure("Вовлечённость", engaged, Unit::Percent),
            figure("Заблокировали", r.blocked as f64, Unit::Count),
            figure("Отписались", r.opted_out as f64, Unit::Count),
        ],
    )))
}

async fn employee_cards(pool: &PgPool, actor: &Actor) -> Result<Vec<Card>, ReportError> {
    let mine = format!("responsible_id={}", actor.user_id);
    let mut cards = vec![];
    let month = this_month();
    let r = run_report(
        pool,
        actor,
        &def(
            &[],
            &[],
            &["count", "conversion:won", "change:count", "change:conversion:won"],
            Some(month),
            &mine,
        ),
    )
    .await?;
    cards.push(figures_card(
        "my_month",
        "Мой месяц к прошлому периоду",
        vec![
            Figure {
                label: "Новых лидов".into(),
                value: r.totals.values[0].unwrap_or(0.0),
                unit: Unit::Count,
                change: r.totals.values[2],
            },
            Figure {
                label: "Конверсия в сделку".into(),
                value: r.totals.values[1].unwrap_or(0.0),
                unit: Unit::Percent,
                change: r.totals.values[3],
            },
        ],
    ));
    let stages = run_report(pool, actor, &def(&["stage"], &[], &["count"], None, &mine)).await?;
    let mut card = chart_card("my_stages", "Мои лиды по этапам", &stages, 1);
    card.chart = ChartKind::Bar;
    cards.push(card);
    let t = sqlx::query!(
        r#"select count(*) filter (where done_at is null) as "open!",
                  count(*) filter (where done_at is null and due_at < now()) as "overdue!",
                  count(*) filter (where done_at >= now() - interval '7 days') as "done!"
           from tasks where assignee_id = $1"#,
        actor.user_id
    )
    .fetch_one(pool)
    .await?;
    cards.push(figures_card(
        "my_tasks",
        "Мои задачи",
        vec![
            figure("Открыто", t.open as f64, Unit::Count),
            figure("Просрочено", t.overdue as f64, Unit::Count),
            figure("Сделано за неделю", t.done as f64, Unit::Count),
        ],
    ));
    Ok(cards)
}

async fn partner_cards(pool: &PgPool, actor: &Actor) -> Result<Vec<Card>, ReportError> {
    let mut cards = vec![];
    let statuses = run_report(pool, actor, &def(&["status"], &[], &["count"], None, "")).await?;
    let mut card = chart_card("statuses", "Мои лиды по статусам", &statuses, 1);
    card.chart = ChartKind::Pie;
    cards.push(card);
    let a = crate::cabinet::cabinet_analytics(pool, actor, 6).await?;
    cards.push(figures_card(
        "money",
        "Выдачи и комиссия",
        vec![
            figure("Выдано кредитов", a.issued.kopecks() as f64 / 100.0, Unit::Rubles),
            figure("Начислено комиссии", a.earned.kopecks() as f64 / 100.0, Unit::Rubles),
            figure("Выплачено", a.paid.kopecks() as f64 / 100.0, Unit::Rubles),
            figure("К выплате", a.pending.kopecks() as f64 / 100.0, Unit::Rubles),
        ],
    ));
    cards.push(months_card(
        "months",
        "По месяцам",
        &a,
        &[("Выдано", 0), ("Начислено", 1), ("Выплачено", 2)],
    ));
    if let Ok(s) = crate::commissions::standing(pool, actor).await {
        let mut figures = vec![
            figure("Объём выдач за период", s.volume.kopecks() as f64 / 100.0, Unit::Rubles),
            figure("Сделок за период", s.deals as f64, Unit::Count),
        ];
        if let Some(next) = &s.next {
            if let Some(v) = next.min_volume {
                figures.push(figure(
                    &format!("До грейда «{}» по объёму", next.name),
                    ((v.kopecks() - s.volume.kopecks()).max(0)) as f64 / 100.0,
                    Unit::Rubles,
                ));
            }
            if let Some(d) = next.min_deals {
                figures.push(figure(
                    &format!("До грейда «{}» по сделкам", next.name),
                    (d as i64 - s.deals).max(0) as f64,
                    Unit::Count,
                ));
            }
        }
        cards.push(figures_card("grade", &format!("Грейд «{}»", s.grade.name), figures));
    }
    Ok(cards)
}

async fn franchisee_cards(pool: &PgPool, actor: &Actor) -> Result<Vec<Card>, ReportError> {
    let a = crate::cabinet::cabinet_analytics(pool, actor, 6).await?;
    let mut cards = vec![figures_card(
        "office",
        "Офис за полгода",
        vec![
            figure("Лидов", a.leads as f64, Unit::Count),
            figure("Куплено на аукционе", a.bought as f64, Unit::Count),
            figure("Расходы на лиды", a.spent.kopecks() as f64 / 100.0, Unit::Rubles),
            figure("Конверсия", a.conversion.unwrap_or(0) as f64, Unit::Percent),
        ],
    )];
    let returns = sqlx::query!(
        r#"select count(*) filter (where r.state = 'approved') as "approved!", count(*) as "all!"
           from lead_returns r where r.team_id = $1"#,
        actor.team_id
    )
    .fetch_one(pool)
    .await?;
    cards[0]
        .figures
        .push(figure("Возвратов одобрено", returns.approved as f64, Unit::Count));
    cards.push(months_card(
        "months",
        "Лиды по месяцам",
        &a,
        &[("В работе", 3), ("Сделка", 4), ("Отказ", 5)],
    ));
    cards.push(months_card("spend", "Расходы по месяцам", &a, &[("Расходы", 6)]));
    let statuses = run_report(pool, actor, &def(&["status"], &[], &["count"], None, "")).await?;
    cards.push(chart_card("statuses", "Лиды по статусам", &statuses, 1));
    Ok(cards)
}

/// A cabinet's months as a chart: which figures (by number) as series.
fn months_card(key: &str, title: &str, a: &crate::cabinet::CabinetAnalytics, series: &[(&str, usize)]) -> Card {
    let pick = |m: &crate::cabinet::MonthFigures, i: usize| -> (f64, Unit) {
        match i {
            0 => (m.issued.kopecks() as f64 / 100.0, Unit::Rubles),
            1 => (m.earned.kopecks() as f64 / 100.0, Unit::Rubles),
            2 => (m.paid.kopecks() as f64 / 100.0, Unit::Rubles),
            3 => (m.open as f64, Unit::Count),
            4 => (m.won as f64, Unit::Count),
            5 => (m.lost as f64, Unit::Count),
            _ => (m.spent.kopecks() as f64 / 100.0, Unit::Rubles),
        }
    };
    let stacked = series.iter().all(|(_, i)| (3..=5).contains(i));
    Card {
        key: key.into(),
        title: title.into(),
        kind: CardKind::Chart,
        chart: if stacked { ChartKind::StackedBar } else { ChartKind::Bar },
        category_label: "Месяц".into(),
        labels: a
            .months
            .iter()
            .map(|m| super::labels::bucket_label(super::definition::Bucket::Month, m.month))
            .collect(),
        drills: vec![None; a.months.len()],
        series: series
            .iter()
            .enumerate()
            .map(|(k, (name, i))| Series {
                name: name.to_string(),
                color: color(k),
                unit: a.months.first().map(|m| pick(m, *i).1).unwrap_or(Unit::Count),
                values: a.months.iter().map(|m| pick(m, *i).0).collect(),
            })
            .collect(),
        figures: vec![],
    }
}
