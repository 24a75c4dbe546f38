//! Lots: putting leads up (a masked copy is taken then), cancelling, and
//! the reads every path uses — the lots page, its server functions, REST,
//! realtime refetches. None of them can show more than the masked copy:
//! the lot's table doesn't hold more.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::companies::settings_in;
use super::{authorize_manage, wallet, AuctionError, Missing, Wallet};
use crate::ledger::{self, Posting};
use crate::rbac::{self, AuctionOp, Operation, Target};
use crate::types::{Money, Scope};
use crate::{audit, realtime, Actor};

crate::types::string_enum!(
    /// Where a lot is: taking bids, or closed one of three ways.
    LotState { Open => "open", Sold => "sold", Unsold => "unsold", Cancelled => "cancelled" }
);

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use strum::{EnumIter, IntoEnumIterator};

impl LotState {
    pub fn label_ru(self) -> &'static str {
        match self {
            Self::Open => "Идут торги",
            Self::Sold => "Продан",
            Self::Unsold => "Не выкуплен",
            Self::Cancelled => "Отменён",
        }
    }
}

/// `+79161234567` → `+7 (916) ***-**-67`: the operator code and the last two
/// digits, as a lot shows a phone before it is sold.
pub fn mask_lot_phone(p: &str) -> String {
    match p.strip_prefix("+7") {
        Some(d) if d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit()) => {
            format!("+7 ({}) ***-**-{}", &d[0..3], &d[8..10])
        }
        _ => {
            let digits: String = p.chars().filter(|c| c.is_ascii_digit()).collect();
            let tail: String = digits
                .chars()
                .rev()
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("***-**-{tail}")
        }
    }
}

/// «Иванов Иван Петрович» → «Иванов И.»: the first word and the next one's
/// initial (the lot never shows a full name).
pub fn mask_lot_name(n: &str) -> String {
    let mut parts = n.split_whitespace();
    let first = parts.next().unwrap_or("");
    match parts.next().and_then(|p| p.chars().next()) {
        Some(c) => format!("{first} {c}."),
        None if first.is_empty() => "—".into(),
        None => first.to_string(),
    }
}

/// A lot as every viewer may see it: the masked copy and the bidding state.
/// `lead_number`, `reserve` and `winner` are only filled for those who may
/// see them (HQ; the winner sees its own lead's number).
#[derive(Debug, Clone, Serialize)]
pub struct LotView {
    pub id: Uuid,
    pub number: i64,
    pub state: LotState,
    pub start_price: Money,
    pub step: Money,
    pub buy_now: Option<Money>,
    pub price: Money,
    /// The least the next bid may be.
    pub min_bid: Money,
    pub bids_count: i32,
    /// The leading company (an id: names are HQ's business).
    pub leader_id: Option<Uuid>,
    pub leading: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub regions: Vec<String>,
    pub round: i32,
    pub product: Option<String>,
    pub lead_amount: Option<Money>,
    pub city: Option<String>,
    pub source: Option<String>,
    pub lead_created_at: DateTime<Utc>,
    pub client: String,
    pub phone: Option<String>,
    /// Extra fields HQ marked public: (label, value).
    pub extra: Vec<(String, String)>,
    pub lead_number: Option<i64>,
    pub reserve: Option<Money>,
    pub winner: Option<String>,
    /// The viewer may bid on it (an open lot for its region and product).
    pub may_bid: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BidView {
    pub amount: Money,
    pub franchisee_id: Uuid,
    /// The company's name for HQ, «Вы» for the bidder's own company,
    /// «Участник N» (by first bid) for others.
    pub who: String,
    pub mine: bool,
    pub buy_now: bool,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LotDetail {
    pub lot: LotView,
    pub bids: Vec<BidView>,
    /// HQ may cancel it.
    pub may_manage: bool,
}

/// Which lots a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LotQuery {
    /// Taking bids.
    #[default]
    Open,
    /// Lots the viewer's company bid on.
    Mine,
    /// Lots the viewer's company won.
    Won,
    /// Closed lots (HQ).
    Closed,
}

#[derive(Debug, Clone, Serialize)]
pub struct LotList {
    pub lots: Vec<LotView>,
    /// The viewer is HQ (sees names, reserves, lead numbers; manages lots).
    pub manage: bool,
    /// The viewer's company, when it has one.
    pub company: Option<Uuid>,
}

/// The viewer, as far as lots go.
struct Viewer {
    hq: bool,
    manage: bool,
    team: Option<Uuid>,
}

async fn viewer(pool: &PgPool, actor: &Actor) -> Result<Viewer, AuctionError> {
    let scope = rbac::authorize(pool, actor, Operation::Auction(AuctionOp::ViewLots), Target::Collection).await?;
    let manage = rbac::authorize(
        pool,
        actor,
        Operation::Auction(AuctionOp::ManageLots),
        Target::Collection,
    )
    .await
    .is_ok();
    let team = match actor.team_id {
        Some(t) => {
            sqlx::query_scalar!("select team_id from franchisees where team_id = $1", t)
                .fetch_optional(pool)
                .await?
        }
        None => None,
    };
    Ok(Viewer {
        hq: scope == Scope::All && team.is_none(),
        manage,
        team,
    })
}

struct LotRow {
    id: Uuid,
    number: i64,
    state: String,
    start_price_kopecks: i64,
    step_kopecks: i64,
    buy_now_kopecks: Option<i64>,
    reserve_kopecks: Option<i64>,
    price_kopecks: i64,
    leader_team_id: Option<Uuid>,
    bids_count: i32,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    regions: Vec<String>,
    round: i32,
    product: Option<String>,
    lead_amount_kopecks: Option<i64>,
    city: Option<String>,
    source: Option<String>,
    lead_created_at: DateTime<Utc>,
    masked_name: String,
    masked_phone: Option<String>,
    public_extra: serde_json::Value,
    lead_number: i64,
    winner: Option<String>,
    eligible: bool,
}

impl LotRow {
    fn view(self, v: &Viewer) -> LotView {
        let state: LotState = self.state.parse().unwrap_or(LotState::Cancelled);
        let price = Money::from_kopecks(self.price_kopecks);
        let min_bid = if self.bids_count == 0 {
            Money::from_kopecks(self.start_price_kopecks)
        } else {
            Money::from_kopecks(self.price_kopecks.saturating_add(self.step_kopecks))
        };
        let won_by_viewer = state == LotState::Sold && v.team.is_some() && self.leader_team_id == v.team;
        let extra = self
            .public_extra
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        LotView {
            id: self.id,
            number: self.number,
            state,
            start_price: Money::from_kopecks(self.start_price_kopecks),
            step: Money::from_kopecks(self.step_kopecks),
            buy_now: self.buy_now_kopecks.map(Money::from_kopecks),
            price,
            min_bid,
            bids_count: self.bids_count,
            leader_id: self.leader_team_id,
            leading: v.team.is_some() && self.leader_team_id == v.team,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            closed_at: self.closed_at,
            regions: self.regions,
            round: self.round,
            product: self.product,
            lead_amount: self.lead_amount_kopecks.map(Money::from_kopecks),
            city: self.city,
            source: self.source,
            lead_created_at: self.lead_created_at,
            client: self.masked_name,
            phone: self.masked_phone,
            extra,
            lead_number: (v.hq || won_by_viewer).then_some(self.lead_number),
            reserve: if v.hq {
                self.reserve_kopecks.map(Money::from_kopecks)
            } else {
                None
            },
            winner: if v.hq { self.winner } else { None },
            may_bid: state == LotState::Open && v.team.is_some() && self.eligible && self.ends_at > Utc::now(),
        }
    }
}

/// Lots as the viewer may see them, masked: open ones (a franchisee: those
/// for its regions and products), its bids, its wins, or (HQ) closed ones.
pub async fn list_lots(pool: &PgPool, actor: &Actor, q: LotQuery) -> Result<LotList, AuctionError> {
    let v = viewer(pool, actor).await?;
    let team = v.team.unwrap_or(Uuid::nil());
    let rows = sqlx::query_as!(
        LotRow,
        r#"select l.id, l.number, l.state, l.start_price_kopecks, l.step_kopecks, l.buy_now_kopecks, l.reserve_kopecks,
                  l.price_kopecks, l.leader_team_id, l.bids_count,
                  l.starts_at as "starts_at: DateTime<Utc>", l.ends_at as "ends_at: DateTime<Utc>",
                  l.closed_at as "closed_at: DateTime<Utc>", l.regions, l.round, l.product, l.lead_amount_kopecks,
                  l.city, l.source, l.lead_created_at as "lead_created_at: DateTime<Utc>", l.masked_name, l.masked_phone,
                  l.public_extra, ld.number as lead_number, t.name as "winner?",
                  (f.team_id is not null
                     and (l.regions = '{}' or f.regions = '{}' or l.regions && f.regions)
                     and (f.product_ids = '{}' or l.product_id = any(f.product_ids))) as "eligible!"
           from lots l
           join leads ld on ld.id = l.lead_id
           left join teams t on t.id = l.leader_team_id
           left join franchisees f on f.team_id = $2
           where case $1
                   when 'open' then l.state = 'open' and ($3 or f.team_id is not null
                       and (l.regions = '{}' or f.regions = '{}' or l.regions && f.regions)
                       and (f.product_ids = '{}' or l.product_id = any(f.product_ids)))
                   when 'mine' then exists (select 1 from bids b where b.lot_id = l.id and b.team_id = $2)
                   when 'won' then l.state = 'sold' and l.leader_team_id = $2
                   else $3 and l.state <> 'open'
                 end
           order by case when l.state = 'open' then l.ends_at end asc, l.closed_at desc nulls last, l.number desc
           limit 500"#,
        match q {
            LotQuery::Open => "open",
            LotQuery::Mine => "mine",
            LotQuery::Won => "won",
            LotQuery::Closed => "closed",
        },
        team,
        v.hq
    )
    .fetch_all(pool)
    .await?;
    Ok(LotList {
        lots: rows.into_iter().map(|r| r.view(&v)).collect(),
        manage: v.manage,
        company: v.team,
    })
}

async fn lot_row(pool: &PgPool, id: Uuid, team: Uuid) -> Result<LotRow, AuctionError> {
    sqlx::query_as!(
        LotRow,
        r#"select l.id, l.number, l.state, l.start_price_kopecks, l.step_kopecks, l.buy_now_kopecks, l.reserve_kopecks,
                  l.price_kopecks, l.leader_team_id, l.bids_count,
                  l.starts_at as "starts_at: DateTime<Utc>", l.ends_at as "ends_at: DateTime<Utc>",
                  l.closed_at as "closed_at: DateTime<Utc>", l.regions, l.round, l.product, l.lead_amount_kopecks,
                  l.city, l.source, l.lead_created_at as "lead_created_at: DateTime<Utc>", l.masked_name, l.masked_phone,
                  l.public_extra, ld.number as lead_number, t.name as "winner?",
                  (f.team_id is not null
                     and (l.regions = '{}' or f.regions = '{}' or l.regions && f.regions)
                     and (f.product_ids = '{}' or l.product_id = any(f.product_ids))) as "eligible!"
           from lots l
           join leads ld on ld.id = l.lead_id
           left join teams t on t.id = l.leader_team_id
           left join franchisees f on f.team_id = $2
           where l.id = $1"#,
        id,
        team
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AuctionError::NotFound(Missing::Lot))
}

/// One lot with its bids, masked. A franchisee sees a lot it may bid on, or
/// one it bid on.
pub async fn get_lot(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<LotDetail, AuctionError> {
    let v = viewer(pool, actor).await?;
    let team = v.team.unwrap_or(Uuid::nil());
    let row = lot_row(pool, id, team).await?;
    if !v.hq {
        let bid_on = sqlx::query_scalar!(
            "select 1 as one from bids where lot_id = $1 and team_id = $2 limit 1",
            id,
            team
        )
        .fetch_optional(pool)
        .await?
        .is_some();
        if !(row.eligible || bid_on) {
            return Err(AuctionError::NotFound(Missing::Lot));
        }
    }
    let bids = sqlx::query!(
        r#"select b.amount_kopecks, b.team_id, b.buy_now, b.created_at as "at: DateTime<Utc>", t.name,
                  dense_rank() over (order by first.first_id) as "n!"
           from bids b join teams t on t.id = b.team_id
           join (select team_id, min(id) as first_id from bids where lot_id = $1 group by team_id) first
             on first.team_id = b.team_id
           where b.lot_id = $1 order by b.id desc"#,
        id
    )
    .fetch_all(pool)
    .await?;
    let bids = bids
        .into_iter()
        .map(|b| {
            let mine = v.team == Some(b.team_id);
            BidView {
                amount: Money::from_kopecks(b.amount_kopecks),
                franchisee_id: b.team_id,
                who: if v.hq {
                    b.name
                } else if mine {
                    "Вы".into()
                } else {
                    format!("Участник {}", b.n)
                },
                mine,
                buy_now: b.buy_now,
                at: b.at,
            }
        })
        .collect();
    Ok(LotDetail {
        lot: row.view(&v),
        bids,
        may_manage: v.manage,
    })
}

/// What HQ puts up.
#[derive(Debug, Clone)]
pub struct NewLots {
    pub lead_ids: Vec<Uuid>,
    pub start_price: Money,
    pub step: Money,
    pub buy_now: Option<Money>,
    pub reserve: Option<Money>,
    /// `None`: the policy's default duration from now.
    pub ends_at: Option<DateTime<Utc>>,
    pub regions: Vec<String>,
}

/// Puts leads up for auction (auction:edit), one lot each, in one
/// transaction: all or none. A lead already given to a franchisee, already
/// on an open lot, or deleted is refused with its number.
pub async fn create_lots(pool: &PgPool, actor: &Actor, n: NewLots) -> Result<Vec<Uuid>, AuctionError> {
    authorize_manage(pool, actor).await?;
    let mut errors = Vec::new();
    if n.lead_ids.is_empty() {
        errors.push(crate::accounts::FieldError::new(
            "lead_ids",
            "Выберите хотя бы один лид",
        ));
    }
    if n.lead_ids.len() > 1000 {
        errors.push(crate::accounts::FieldError::new(
            "lead_ids",
            "Не больше 1000 лидов за раз",
        ));
    }
    if n.start_price.kopecks() <= 0 {
        errors.push(crate::accounts::FieldError::new(
            "start_price",
            "Стартовая цена должна быть больше нуля",
        ));
    }
    if n.step.kopecks() <= 0 {
        errors.push(crate::accounts::FieldError::new(
            "step",
            "Шаг ставки должен быть больше нуля",
        ));
    }
    if n.buy_now.is_some_and(|b| b < n.start_price) {
        errors.push(crate::accounts::FieldError::new(
            "buy_now",
            "Цена «Купить сейчас» не может быть ниже стартовой",
        ));
    }
    if n.reserve.is_some_and(|r| r.kopecks() <= 0) {
        errors.push(crate::accounts::FieldError::new(
            "reserve",
            "Резервная цена должна быть больше нуля",
        ));
    }
    let now = Utc::now();
    if n.ends_at.is_some_and(|e| e <= now + Duration::seconds(30)) {
        errors.push(crate::accounts::FieldError::new(
            "ends_at",
            "Окончание торгов должно быть в будущем",
        ));
    }
    if n.ends_at.is_some_and(|e| e > now + Duration::days(30)) {
        errors.push(crate::accounts::FieldError::new(
            "ends_at",
            "Торги длятся не больше 30 дней",
        ));
    }
    if !errors.is_empty() {
        return Err(AuctionError::Validation(errors));
    }
    let regions: Vec<String> = n
        .regions
        .iter()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    let mut tx = pool.begin().await?;
    let settings = settings_in(&mut *tx).await?;
    let ends_at = n
        .ends_at
        .unwrap_or_else(|| now + Duration::minutes(settings.default_duration_minutes as i64));
    let mut ids = Vec::with_capacity(n.lead_ids.len());
    let mut leads = n.lead_ids.clone();
    leads.sort();
    leads.dedup();
    for lead in leads {
        let id = list_lead(
            &mut tx,
            Some(actor),
            lead,
            Listing {
                start_price: n.start_price,
                step: n.step,
                buy_now: n.buy_now,
                reserve: n.reserve,
                ends_at,
                regions: regions.clone(),
                round: 1,
            },
        )
        .await?;
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}

/// Puts up everything the lead list's filter matches for the actor (at
/// most 1,000 leads; auction:edit), like [`create_lots`].
pub async fn create_lots_for_filter(
    pool: &PgPool,
    actor: &Actor,
    filter: &crate::leads::LeadFilter,
    mut n: NewLots,
) -> Result<Vec<Uuid>, AuctionError> {
    authorize_manage(pool, actor).await?;
    n.lead_ids = crate::leads::matching_ids(pool, actor, filter, 1000)
        .await
        .map_err(|e| match e {
            crate::leads::LeadsError::Db(e) => AuctionError::Db(e),
            crate::leads::LeadsError::Rbac(e) => AuctionError::Rbac(e),
            other => super::invalid("filter", &other.to_string()),
        })?;
    create_lots(pool, actor, n).await
}

pub(crate) struct Listing {
    pub start_price: Money,
    pub step: Money,
    pub buy_now: Option<Money>,
    pub reserve: Option<Money>,
    pub ends_at: DateTime<Utc>,
    pub regions: Vec<String>,
    pub round: i32,
}

/// Puts one lead up in the caller's transaction: the masked copy, the
/// lead's status «Аукцион», its timeline, the pages told.
pub(crate) async fn list_lead(
    tx: &mut Transaction<'_, Postgres>,
    actor: Option<&Actor>,
    lead: Uuid,
    l: Listing,
) -> Result<Uuid, AuctionError> {
    let row = sqlx::query!(
        r#"select l.number, l.franchisee_id, l.product_id, l.amount_kopecks, l.status_id, l.extra,
                  l.created_at as "created_at: DateTime<Utc>",
                  c.full_name, c.city, p.name as "product?", s.name as "source?",
                  (select phone from client_phones cp where cp.client_id = c.id order by position, phone limit 1) as phone
           from leads l join clients c on c.id = l.client_id
           left join dictionary_items p on p.id = l.product_id
           left join dictionary_items s on s.id = l.source_id
           where l.id = $1 and l.deleted_at is null
           for update of l"#,
        lead
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(AuctionError::NotFound(Missing::Lead))?;
    if row.franchisee_id.is_some() {
        return Err(AuctionError::AlreadyAssigned(row.number));
    }
    let public = sqlx::query!(
        "select key, label, kind from custom_fields where public_on_lots and active order by position, label"
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut extra = serde_json::Map::new();
    for f in public {
        if let Some(v) = row.extra.get(&f.key).filter(|v| !v.is_null()) {
            let kind = crate::leads::FieldKind::parse(&f.kind).unwrap_or(crate::leads::FieldKind::Text);
            extra.insert(f.label, serde_json::Value::String(crate::leads::display_value(kind, v)));
        }
    }
    let price = l.start_price.kopecks();
    let id = sqlx::query_scalar!(
        "insert into lots (lead_id, start_price_kopecks, step_kopecks, buy_now_kopecks, reserve_kopecks, price_kopecks,
                           ends_at, regions, round, product_id, product, lead_amount_kopecks, city, source, lead_created_at,
                           masked_name, masked_phone, public_extra, prev_status_id, created_by)
         values ($1, $2, $3, $4, $5, $2, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
         returning id",
        lead,
        price,
        l.step.kopecks(),
        l.buy_now.map(|m| m.kopecks()),
        l.reserve.map(|m| m.kopecks()),
        l.ends_at as _,
        &l.regions,
        l.round,
        row.product_id,
        row.product,
        row.amount_kopecks,
        row.city,
        row.source,
        row.created_at as _,
        mask_lot_name(&row.full_name),
        row.phone.as_deref().map(mask_lot_phone),
        serde_json::Value::Object(extra),
        row.status_id,
        actor.map(|a| a.user_id)
    )
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| match crate::constraint_name(&e) {
        Some("lots_open_lead_key") => AuctionError::AlreadyOnAuction(row.number),
        _ => AuctionError::Db(e),
    })?;
    set_status(tx, lead, "Аукцион").await?;
    sqlx::query!(
        "update leads set method_id = coalesce((select id from dictionary_items where kind = 'method' and name = 'Аукцион'), method_id)
         where id = $1",
        lead
    )
    .execute(&mut **tx)
    .await?;
    let number = sqlx::query_scalar!("select number from lots where id = $1", id)
        .fetch_one(&mut **tx)
        .await?;
    audit::record(
        tx,
        actor,
        "lead",
        &lead.to_string(),
        "auction_listed",
        None,
        Some(serde_json::json!({
            "Лот": format!("№{number}"),
            "Стартовая цена": l.start_price.format(),
            "Окончание": crate::time::datetime(l.ends_at),
            "Круг": l.round,
        })),
    )
    .await?;
    realtime::publish(tx, &realtime::Event::LotChanged { lot_id: id }).await?;
    crate::leads::announce_change(tx, lead, "auction").await?;
    Ok(id)
}

/// Sets a lead's status by the status's name (when the dictionary has it).
pub(crate) async fn set_status(tx: &mut Transaction<'_, Postgres>, lead: Uuid, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update leads set status_id = coalesce((select id from dictionary_items where kind = 'status' and name = $2), status_id)
         where id = $1",
        lead,
        name
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Cancels an open lot (auction:edit): the leader's hold is released, the
/// lead gets its status back. Audited.
pub async fn cancel_lot(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<(), AuctionError> {
    authorize_manage(pool, actor).await?;
    let mut tx = pool.begin().await?;
    let lot = sqlx::query!(
        "select state, lead_id, leader_team_id, leader_bid_id, price_kopecks, prev_status_id, number
         from lots where id = $1 for update",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AuctionError::NotFound(Missing::Lot))?;
    if lot.state != "open" {
        return Err(AuctionError::LotClosed);
    }
    if let (Some(team), Some(bid)) = (lot.leader_team_id, lot.leader_bid_id) {
        let w = wallet(&mut tx, team).await?;
        release_hold(
            &mut tx,
            id,
            (team, w),
            bid,
            Money::from_kopecks(lot.price_kopecks),
            "отмена лота",
        )
        .await?;
    }
    sqlx::query!(
        "update lots set state = 'cancelled', closed_at = now() where id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update leads set status_id = $2 where id = $1",
        lot.lead_id,
        lot.prev_status_id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "lead",
        &lot.lead_id.to_string(),
        "auction_cancelled",
        None,
        Some(serde_json::json!({ "Лот": format!("№{}", lot.number) })),
    )
    .await?;
    realtime::publish(&mut tx, &realtime::Event::LotChanged { lot_id: id }).await?;
    tx.commit().await?;
    Ok(())
}

/// Gives company `team` (its accounts `w`) back the money held for its bid
/// `bid` on `lot`.
pub(crate) async fn release_hold(
    tx: &mut Transaction<'_, Postgres>,
    lot: Uuid,
    (team, w): (Uuid, Wallet),
    bid: i64,
    amount: Money,
    why: &str,
) -> Result<(), AuctionError> {
    ledger::transfer_in(
        tx,
        &format!("auction:release:{bid}"),
        "release",
        &format!("Разблокировка: {why}"),
        &lot.to_string(),
        None,
        &[
            Posting {
                account: w.held,
                amount: amount.checked_neg().ok_or(AuctionError::LotClosed)?,
            },
            Posting {
                account: w.available,
                amount,
            },
        ],
    )
    .await?;
    realtime::publish(tx, &realtime::Event::BalanceChanged { team_id: team }).await?;
    Ok(())
}
