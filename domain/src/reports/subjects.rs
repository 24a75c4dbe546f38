//! Reports over the records of other features — clients, tasks, partners'
//! accruals, auction lots and bids, broadcasts: each one table (with what
//! it needs joined), the reader's rights as that feature's list decides
//! them, its dimensions as columns and its measures as aggregates. The
//! grouping, totals and layout are the leads report's (`query::Group`).

use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::definition::{Aggregate, Base, DateField, Definition, Dimension, Period, Quantity, Subject};
use super::query::{bases, grouping_sets, groups, Group, MAX_GROUPS};
use super::ReportError;
use crate::rbac::{self, AuctionOp, BroadcastOp, ClientOp, CommissionOp, LeadOp, Operation, Target};
use crate::types::Scope;
use crate::Actor;

/// The right whose scope decides which records of `subject` a reader sees.
fn right(subject: Subject) -> Operation {
    match subject {
        Subject::Leads | Subject::Tasks => Operation::Leads(LeadOp::List),
        Subject::Clients => Operation::Clients(ClientOp::View),
        Subject::Accruals => Operation::Commissions(CommissionOp::ViewAccruals),
        Subject::Lots | Subject::Bids => Operation::Auction(AuctionOp::ViewLots),
        Subject::Broadcasts => Operation::Broadcasts(BroadcastOp::View),
    }
}

/// The records and their joins.
fn from_sql(subject: Subject, delivery: bool) -> String {
    match subject {
        Subject::Leads => "leads l".into(),
        Subject::Clients => "clients c".into(),
        Subject::Tasks => "tasks t left join leads l on l.id = t.lead_id".into(),
        Subject::Accruals => "accruals a join company_cards cc on cc.id = a.card_id".into(),
        Subject::Lots => "lots lo".into(),
        Subject::Bids => "bids b join lots lo on lo.id = b.lot_id".into(),
        Subject::Broadcasts => {
            let mut s =
                "broadcasts br join bots bo on bo.id = br.bot_id left join users bu on bu.id = bo.owner_id".to_string();
            if delivery {
                // Counted per broadcast only when a measure asks.
                s.push_str(
                    " left join lateral (select count(*) filter (where r.status = 'delivered') as delivered,
                                                count(*) filter (where r.status in ('failed', 'blocked')) as failed
                                         from broadcast_recipients r where r.broadcast_id = br.id) rc on true",
                );
            }
            s
        }
    }
}

/// `where …`: what the subject always leaves out, then the reader's scope.
fn push_scope(q: &mut QueryBuilder<'_, Postgres>, subject: Subject, actor: &Actor, scope: Scope) {
    let me = actor.user_id;
    let team = actor.team_id.unwrap_or(Uuid::nil());
    match subject {
        Subject::Leads => {}
        Subject::Clients => {
            q.push(" where c.merged_into is null");
            match scope {
                Scope::All => {}
                Scope::Team => {
                    q.push(" and (c.owner_id = ")
                        .push_bind(me)
                        .push(" or c.team_id = ")
                        .push_bind(team)
                        .push(")");
                }
                Scope::Own | Scope::None => {
                    q.push(" and c.owner_id = ").push_bind(me);
                }
            }
        }
        Subject::Tasks => {
            // A task is seen with its lead — and by whoever it is assigned to.
            q.push(" where (t.lead_id is null or l.deleted_at is null)");
            match scope {
                Scope::All => {}
                Scope::Team => {
                    q.push(" and (t.assignee_id = ")
                        .push_bind(me)
                        .push(" or ")
                        .push_bind(me)
                        .push(" in (l.responsible_id, l.partner_id, l.franchisee_id, l.created_by) or l.team_id = ")
                        .push_bind(team)
                        .push(")");
                }
                Scope::Own | Scope::None => {
                    q.push(" and (t.assignee_id = ")
                        .push_bind(me)
                        .push(" or ")
                        .push_bind(me)
                        .push(" in (l.responsible_id, l.partner_id, l.franchisee_id, l.created_by))");
                }
            }
        }
        Subject::Accruals => {
            q.push(" where true");
            if scope != Scope::All {
                // A partner's own card: what was accrued to them.
                q.push(" and cc.user_id = ").push_bind(me);
            }
        }
        Subject::Lots => {
            q.push(" where true");
            if scope != Scope::All {
                // A franchisee's company: the lots it leads or bought.
                q.push(" and lo.leader_team_id = ").push_bind(team);
            }
        }
        Subject::Bids => {
            q.push(" where true");
            if scope != Scope::All {
                q.push(" and b.team_id = ").push_bind(team);
            }
        }
        Subject::Broadcasts => {
            q.push(" where true");
            match scope {
                Scope::All => {}
                Scope::Team => {
                    q.push(" and (bo.owner_id = ")
                        .push_bind(me)
                        .push(" or bu.team_id = ")
                        .push_bind(team)
                        .push(")");
                }
                Scope::Own | Scope::None => {
                    q.push(" and bo.owner_id = ").push_bind(me);
                }
            }
        }
    }
}

/// The moment a date dimension reads (`None`: the subject has no such date).
fn date_column(subject: Subject, field: DateField) -> Option<&'static str> {
    Some(match (subject, field) {
        (Subject::Clients, DateField::Created) => "c.created_at",
        (Subject::Tasks, DateField::Created) => "t.created_at",
        (Subject::Tasks, DateField::Closed) => "t.done_at",
        (Subject::Accruals, DateField::Created) => "a.created_at",
        (Subject::Lots, DateField::Created) => "lo.created_at",
        (Subject::Lots, DateField::Closed) => "lo.closed_at",
        (Subject::Bids, DateField::Created) => "b.created_at",
        (Subject::Broadcasts, DateField::Created) => "br.created_at",
        (Subject::Broadcasts, DateField::Closed) => "br.finished_at",
        _ => return None,
    })
}

/// The day of a moment in the company's zone.
fn day_of(column: &str) -> String {
    format!("({column} at time zone company_zone())::date")
}

/// A dimension's column for `subject` (checked by `Subject::has_dimension`).
fn dimension_sql(subject: Subject, d: &Dimension, shift_days: i64) -> String {
    use Dimension as D;
    use Subject as S;
    let text = match (subject, d) {
        (S::Clients, D::City) => "nullif(btrim(c.city), '')",
        (S::Clients, D::Responsible) => "c.owner_id::text",
        (S::Clients, D::Franchisee) => "c.team_id::text",
        (S::Tasks, D::State) => {
            "case when t.done_at is not null then 'done' when t.due_at < now() then 'overdue' else 'open' end"
        }
        (S::Tasks, D::Responsible) => "t.assignee_id::text",
        (S::Tasks, D::Pipeline) => "l.pipeline_id::text",
        (S::Accruals, D::Partner) => "cc.user_id::text",
        (S::Accruals, D::State) => "a.state",
        (S::Accruals, D::Product) => "a.product_id::text",
        (S::Accruals, D::Level) => "a.level::text",
        (S::Lots, D::State) => "lo.state",
        (S::Lots, D::Franchisee) => "lo.leader_team_id::text",
        (S::Lots, D::Product) => "lo.product_id::text",
        (S::Lots, D::City) => "nullif(btrim(lo.city), '')",
        (S::Bids, D::Franchisee) => "b.team_id::text",
        (S::Bids, D::Responsible) => "b.user_id::text",
        (S::Bids, D::Product) => "lo.product_id::text",
        (S::Broadcasts, D::Bot) => "br.bot_id::text",
        (S::Broadcasts, D::State) => "br.state",
        (S::Broadcasts, D::Responsible) => "br.created_by::text",
        (_, D::Date(field, bucket)) => {
            return match date_column(subject, *field) {
                Some(col) => format!(
                    "to_char(date_trunc('{}', {} + {shift_days})::date, 'YYYY-MM-DD')",
                    bucket.as_str(),
                    day_of(col)
                ),
                None => "null::text".into(),
            };
        }
        _ => "null::text",
    };
    text.to_string()
}

/// The money column the amount measures read, in kopecks.
fn amount_sql(subject: Subject) -> &'static str {
    match subject {
        Subject::Accruals => "a.amount_kopecks",
        // A lot's amount is what it sold for.
        Subject::Lots => "(case when lo.state = 'sold' then lo.price_kopecks end)",
        Subject::Bids => "b.amount_kopecks",
        _ => "null::int8",
    }
}

fn quantity_sql(q: Quantity) -> &'static str {
    match q {
        Quantity::Bids => "lo.bids_count",
        Quantity::Recipients => "br.total",
        Quantity::Delivered => "rc.delivered",
        Quantity::Failed => "rc.failed",
    }
}

fn measure_sql(subject: Subject, b: Base) -> String {
    let amount = amount_sql(subject);
    match b {
        Base::Amount(agg) => {
            let f = match agg {
                Aggregate::Sum => format!("sum({amount})"),
                Aggregate::Avg => format!("avg({amount})"),
                Aggregate::Min => format!("min({amount})"),
                Aggregate::Max => format!("max({amount})"),
                Aggregate::Median => format!("percentile_cont(0.5) within group (order by {amount})"),
            };
            format!("({f})::float8 / 100.0")
        }
        Base::Quantity(q) => format!("coalesce(sum({}), 0)::float8", quantity_sql(q)),
        // Conversions and stage times are leads' (refused by parsing).
        Base::Count | Base::Conversion(_) | Base::Days(..) => "count(*)::float8".into(),
    }
}

/// Runs a definition over a subject other than leads, like
/// `query::aggregate` does over leads.
pub(crate) async fn aggregate(
    pool: &PgPool,
    actor: &Actor,
    def: &Definition,
    period: Option<Period>,
    shift_days: i64,
) -> Result<Vec<Group>, ReportError> {
    super::authorize(pool, actor, rbac::ReportOp::View).await?;
    let subject = def.subject;
    let scope = rbac::authorize(pool, actor, right(subject), Target::Collection).await?;
    let dims: Vec<&Dimension> = def.dimensions().collect();
    let exprs: Vec<String> = dims.iter().map(|d| dimension_sql(subject, d, shift_days)).collect();
    let bases = bases(def);
    let delivery = bases
        .iter()
        .any(|b| matches!(b, Base::Quantity(Quantity::Delivered | Quantity::Failed)));

    let mut q = QueryBuilder::<Postgres>::new("select ");
    if exprs.is_empty() {
        q.push("0");
    } else {
        q.push(format!("grouping({})", exprs.join(", ")));
    }
    for e in &exprs {
        q.push(", ").push(e.as_str());
    }
    for b in &bases {
        q.push(", ").push(measure_sql(subject, *b));
    }
    q.push(" from ").push(from_sql(subject, delivery));
    push_scope(&mut q, subject, actor, scope);
    if let (Some(p), Some(created)) = (period, date_column(subject, DateField::Created)) {
        let day = day_of(created);
        q.push(format!(" and {day} >= "))
            .push_bind(p.from)
            .push(format!(" and {day} <= "))
            .push_bind(p.to);
    }
    for d in &dims {
        if let Dimension::Date(DateField::Closed, _) = d {
            if let Some(col) = date_column(subject, DateField::Closed) {
                // Records not closed have no closing date to be cut by.
                q.push(format!(" and {col} is not null"));
            }
        }
    }
    if !exprs.is_empty() {
        let sets = grouping_sets(def.rows.len(), def.columns.len())
            .iter()
            .map(|set| {
                format!(
                    "({})",
                    set.iter().map(|i| exprs[*i].clone()).collect::<Vec<_>>().join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        q.push(format!(" group by grouping sets ({sets})"));
    }
    q.push(format!(" limit {}", MAX_GROUPS + 1));
    let rows = q.build().fetch_all(pool).await?;
    groups(rows, dims.len(), bases.len())
}

/// The readable names of a subject's states, in their order.
pub fn state_names(subject: Subject) -> &'static [(&'static str, &'static str)] {
    match subject {
        Subject::Tasks => &[("open", "Открыта"), ("overdue", "Просрочена"), ("done", "Выполнена")],
        Subject::Accruals => &[
            ("accrued", "Начислено"),
            ("act_issued", "Акт выставлен"),
            ("signed", "Акт подписан"),
            ("paid", "Выплачено"),
        ],
        Subject::Lots => &[
            ("open", "Идут торги"),
            ("sold", "Продан"),
            ("unsold", "Не продан"),
            ("cancelled", "Снят"),
        ],
        Subject::Broadcasts => &[
            ("draft", "Черновик"),
            ("scheduled", "Запланирована"),
            ("awaiting_approval", "Ждёт одобрения"),
            ("sending", "Отправляется"),
            ("paused", "На паузе"),
            ("done", "Завершена"),
            ("cancelled", "Отменена"),
        ],
        _ => &[],
    }
}

/// An accrual's level by name.
pub const LEVEL_NAMES: [(&str, &str); 3] = [
    ("0", "Свой лид"),
    ("1", "Реферал 1-го уровня"),
    ("2", "Реферал 2-го уровня"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offered_dimension_has_a_column() {
        for subject in Subject::ALL.into_iter().filter(|s| *s != Subject::Leads) {
            for d in subject.dimensions() {
                assert_ne!(
                    dimension_sql(subject, &d, 0),
                    "null::text",
                    "{} has no column for {}",
                    subject.key(),
                    d.key()
                );
            }
            assert!(!subject.measures().is_empty());
        }
    }

    #[test]
    fn amounts_only_where_there_is_money() {
        use super::super::definition::Measure;
        let sum = Measure::parse("sum:amount").unwrap().base();
        assert!(Subject::Accruals.has_base(sum));
        assert!(Subject::Bids.has_base(sum));
        assert!(!Subject::Clients.has_base(sum));
        assert!(!Subject::Tasks.has_base(Measure::parse("conversion:won").unwrap().base()));
        assert!(Subject::Broadcasts.has_base(Measure::parse("delivered").unwrap().base()));
        assert!(!Subject::Leads.has_base(Measure::parse("delivered").unwrap().base()));
    }
}
