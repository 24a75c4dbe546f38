use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{LeadSummary, LeadsError};
use crate::rbac::{self, Operation, Target};
use crate::types::{Money, Scope};
use crate::{Actor, Page};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LeadSort {
    #[default]
    CreatedDesc,
    CreatedAsc,
    NumberDesc,
    NumberAsc,
    AmountDesc,
    AmountAsc,
    UpdatedDesc,
    ClientAsc,
}

impl LeadSort {
    pub fn parse(s: &str) -> Self {
        match s {
            "created_asc" => Self::CreatedAsc,
            "number_desc" => Self::NumberDesc,
            "number_asc" => Self::NumberAsc,
            "amount_desc" => Self::AmountDesc,
            "amount_asc" => Self::AmountAsc,
            "updated_desc" => Self::UpdatedDesc,
            "client_asc" => Self::ClientAsc,
            _ => Self::CreatedDesc,
        }
    }
    fn key(self) -> &'static str {
        match self {
            Self::CreatedDesc => "created_desc",
            Self::CreatedAsc => "created_asc",
            Self::NumberDesc => "number_desc",
            Self::NumberAsc => "number_asc",
            Self::AmountDesc => "amount_desc",
            Self::AmountAsc => "amount_asc",
            Self::UpdatedDesc => "updated_desc",
            Self::ClientAsc => "client_asc",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    /// Name, phone (any format: digits are matched) or email.
    pub query: String,
    pub pipeline_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub source_id: Option<Uuid>,
    pub status_id: Option<Uuid>,
    pub unsorted: Option<bool>,
    pub amount_from: Option<Money>,
    pub amount_to: Option<Money>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub sort: LeadSort,
    pub page: i64,
    pub per_page: i64,
}

/// (phone LIKE, name/email LIKE, exact email) for a quick-search string.
/// Phones are stored as +7XXXXXXXXXX: the last ten digits typed find them.
pub(crate) fn search_patterns(query: &str) -> (Option<String>, Option<String>, Option<String>) {
    let q = query.trim().to_lowercase();
    let digits: String = q.chars().filter(|c| c.is_ascii_digit()).collect();
    // Phones are stored as +7XXXXXXXXXX: the last ten digits of what was typed find them.
    let phone_like = if digits.len() >= 5 {
        let tail = if digits.len() > 10 {
            &digits[digits.len() - 10..]
        } else {
            &digits[..]
        };
        Some(format!("%{tail}%"))
    } else {
        None
    };
    let text_like = if !q.is_empty() && phone_like.is_none() {
        Some(format!("%{}%", q.replace('%', "\\%").replace('_', "\\_")))
    } else {
        None
    };
    let email_eq = if q.contains('@') { Some(q.clone()) } else { None };
    (phone_like, text_like, email_eq)
}

/// Leads the actor may see (leads:view; own / team / all), filtered,
/// sorted and paginated on the server.
pub async fn list_leads(pool: &PgPool, actor: &Actor, f: LeadFilter) -> Result<Page<LeadSummary>, LeadsError> {
    let scope = rbac::authorize(pool, actor, Operation::ListLeads, Target::Collection).await?;
    let per_page = if f.per_page <= 0 { 50 } else { f.per_page.min(200) };
    let page = f.page.max(1);
    let (me, team) = match scope {
        Scope::All => (None, None),
        Scope::Team => (Some(actor.user_id), actor.team_id.or(Some(Uuid::nil()))),
        Scope::Own | Scope::None => (Some(actor.user_id), None),
    };
    let (phone_like, text_like, email_eq) = search_patterns(&f.query);
    let rows = sqlx::query!(
        r#"select l.id, l.number, l.client_id, c.full_name as client_name,
                  (select phone from client_phones p where p.client_id = c.id order by position, phone limit 1) as phone,
                  (select email from client_emails e where e.client_id = c.id order by position, email limit 1) as email,
                  pr.name as "product?", l.amount_kopecks, so.name as "source?", st.name as "status?",
                  l.pipeline_id, l.stage_id, sg.name as "stage_name?", sg.color as "stage_color?", l.unsorted,
                  ru.full_name as "responsible_name?", pu.full_name as "partner_name?", l.tags,
                  l.created_at as "created_at: DateTime<Utc>", l.updated_at as "updated_at: DateTime<Utc>",
                  count(*) over () as "total!"
           from leads l
           join clients c on c.id = l.client_id
           left join dictionary_items pr on pr.id = l.product_id
           left join dictionary_items so on so.id = l.source_id
           left join dictionary_items st on st.id = l.status_id
           left join stages sg on sg.id = l.stage_id
           left join users ru on ru.id = l.responsible_id
           left join users pu on pu.id = l.partner_id
           where ($1::uuid is null
                  or $1 in (l.responsible_id, l.partner_id, l.franchisee_id, l.created_by)
                  or ($2::uuid is not null and l.team_id = $2))
             and ($3::text is null or exists (select 1 from client_phones p where p.client_id = l.client_id and p.phone like $3))
             and ($4::text is null or lower(c.full_name) like $4
                  or exists (select 1 from client_emails e where e.client_id = l.client_id and e.email like $4))
             and ($5::text is null or exists (select 1 from client_emails e where e.client_id = l.client_id and e.email = $5))
             and ($6::uuid is null or l.pipeline_id = $6)
             and ($7::uuid is null or l.stage_id = $7)
             and ($8::uuid is null or l.product_id = $8)
             and ($9::uuid is null or l.source_id = $9)
             and ($10::uuid is null or l.status_id = $10)
             and ($11::bool is null or l.unsorted = $11)
             and ($12::bigint is null or l.amount_kopecks >= $12)
             and ($13::bigint is null or l.amount_kopecks <= $13)
             and ($14::timestamptz is null or l.created_at >= $14)
             and ($15::timestamptz is null or l.created_at < $15)
           order by
             case when $16 = 'created_asc' then l.created_at end asc,
             case when $16 = 'number_desc' then l.number end desc,
             case when $16 = 'number_asc' then l.number end asc,
             case when $16 = 'amount_desc' then l.amount_kopecks end desc nulls last,
             case when $16 = 'amount_asc' then l.amount_kopecks end asc nulls last,
             case when $16 = 'updated_desc' then l.updated_at end desc,
             case when $16 = 'client_asc' then c.full_name end asc,
             l.created_at desc, l.id
           limit $17 offset $18"#,
        me,
        team,
        phone_like,
        text_like,
        email_eq,
        f.pipeline_id,
        f.stage_id,
        f.product_id,
        f.source_id,
        f.status_id,
        f.unsorted,
        f.amount_from.map(Money::kopecks),
        f.amount_to.map(Money::kopecks),
        f.created_from as _,
        f.created_to as _,
        f.sort.key(),
        per_page,
        (page - 1) * per_page
    )
    .fetch_all(pool)
    .await?;
    let total = rows.first().map(|r| r.total).unwrap_or(0);
    let items = rows
        .into_iter()
        .map(|r| LeadSummary {
            id: r.id,
            number: r.number,
            client_id: r.client_id,
            client_name: r.client_name,
            phone: r.phone,
            email: r.email,
            product: r.product,
            amount: r.amount_kopecks.map(Money::from_kopecks),
            source: r.source,
            status: r.status,
            pipeline_id: r.pipeline_id,
            stage_id: r.stage_id,
            stage_name: r.stage_name,
            stage_color: r.stage_color,
            unsorted: r.unsorted,
            responsible_name: r.responsible_name,
            partner_name: r.partner_name,
            tags: r.tags,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect();
    Ok(Page {
        items,
        total,
        page,
        per_page,
    })
}
