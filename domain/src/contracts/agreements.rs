//! The partner's and the office's agreement with the company.

use chrono::{Datelike, Utc};
use sqlx::PgPool;
use std::sync::Arc;
use uuid::Uuid;

use super::{city_of, list, next_number, ContractError, ContractView};
use crate::documents::{self, current_in, DocumentError, NewDocument, Render, TemplateKind};
use crate::rbac::{self, CommissionOp, Operation};
use crate::storage::Storage;
use crate::{audit, notifications, Actor};

async fn target(pool: &PgPool, card: Uuid) -> Result<rbac::Target, ContractError> {
    crate::counterparties::card_target(pool, card)
        .await?
        .ok_or(ContractError::NotFound)
}

/// A card's agreements and whether the viewer may reissue them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CardAgreements {
    /// The one in force first, then the replaced ones, newest first.
    pub list: Vec<ContractView>,
    pub may_reissue: bool,
}

/// The agreements of a partner's or an office's card (settlements:view on
/// its owner: the partner, the office, HQ).
pub async fn agreements(pool: &PgPool, actor: &Actor, card: Uuid) -> Result<CardAgreements, ContractError> {
    let t = target(pool, card).await?;
    rbac::authorize(
        pool,
        actor,
        Operation::Commissions(CommissionOp::ViewSettlements),
        t.clone(),
    )
    .await?;
    let may_reissue = rbac::authorize(pool, actor, Operation::Commissions(CommissionOp::IssueAct), t)
        .await
        .is_ok();
    let mut list = list(pool, Some(card), None).await?;
    list.sort_by_key(|c| c.superseded);
    Ok(CardAgreements { list, may_reissue })
}

/// Generates the card's agreement again from the current template and
/// card (settlements:settle, HQ): the new one replaces the one in force.
pub async fn issue_agreement(
    pool: &PgPool,
    storage: Option<&Storage>,
    renderer: Option<&Arc<dyn Render>>,
    actor: &Actor,
    card: Uuid,
) -> Result<ContractView, ContractError> {
    let t = target(pool, card).await?;
    rbac::authorize(pool, actor, Operation::Commissions(CommissionOp::IssueAct), t).await?;
    let storage = storage.ok_or_else(|| DocumentError::Unavailable("S3 is not configured".into()))?;
    let renderer = renderer.ok_or_else(|| DocumentError::Unavailable("no renderer".into()))?;
    let id = generate(pool, storage, renderer, Some(actor), card, true).await?;
    list(pool, Some(card), None)
        .await?
        .into_iter()
        .find(|c| Some(c.id) == id)
        .ok_or(ContractError::NotFound)
}

/// The worker: generates the agreement of every approved partner and
/// office that has none, one card at a time (claimed with SKIP LOCKED, so
/// instances share the work and a restart redoes only the one in hand).
/// A card that fails is retried after a growing pause. Returns how many
/// agreements it generated.
pub async fn issue_missing_agreements(
    pool: &PgPool,
    storage: Option<&Storage>,
    renderer: Option<&Arc<dyn Render>>,
) -> Result<usize, ContractError> {
    let (Some(storage), Some(renderer)) = (storage, renderer) else {
        return Ok(0);
    };
    let mut done = 0;
    for _ in 0..20 {
        let due = sqlx::query_scalar!(
            "select c.id from company_cards c left join users u on u.id = c.user_id
             where ((c.kind = 'partner' and u.role = 'partner' and u.status = 'active')
                    or (c.kind = 'franchisee' and exists (select 1 from franchisees f where f.team_id = c.team_id)))
               and not exists (select 1 from contracts k where k.card_id = c.id and k.kind <> 'client' and not k.superseded)
               and not exists (select 1 from agreement_failures f where f.card_id = c.id and f.retry_at > now())
             order by c.created_at limit 1"
        )
        .fetch_optional(pool)
        .await?;
        let Some(card) = due else { break };
        match generate(pool, storage, renderer, None, card, false).await {
            Ok(Some(_)) => done += 1,
            // Another instance generated it meanwhile.
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(%card, error = %e, "agreement not generated");
                sqlx::query!(
                    "insert into agreement_failures (card_id, last_error, retry_at) values ($1, $2, now() + interval '1 minute')
                     on conflict (card_id) do update set attempts = agreement_failures.attempts + 1,
                         last_error = excluded.last_error,
                         retry_at = now() + make_interval(mins => least(60, 2 ^ agreement_failures.attempts)::int)",
                    card,
                    e.to_string()
                )
                .execute(pool)
                .await?;
            }
        }
    }
    Ok(done)
}

/// Renders, stores and records the agreement of `card`. Without `reissue`
/// nothing is done (`None`) when the card already has one in force. The
/// PDF is removed again if the row does not commit.
async fn generate(
    pool: &PgPool,
    storage: &Storage,
    renderer: &Arc<dyn Render>,
    actor: Option<&Actor>,
    card: Uuid,
    reissue: bool,
) -> Result<Option<Uuid>, ContractError> {
    let mut tx = pool.begin().await?;
    // The card's row is held so two instances don't both generate.
    let c = sqlx::query!(
        r#"select c.kind, c.public_id, c.user_id, c.team_id, g.name as "grade?", u.city as "city?"
           from company_cards c left join grades g on g.id = c.grade_id
           left join users u on u.id = coalesce(c.user_id, (select responsible_id from franchisees f where f.team_id = c.team_id))
           where c.id = $1 for update of c"#,
        card
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ContractError::NotFound)?;
    let kind = match c.kind.as_str() {
        "partner" => TemplateKind::PartnerContract,
        "franchisee" => TemplateKind::FranchiseeContract,
        _ => {
            return Err(ContractError::Conflict(
                "Договор заключается с партнёром или франчайзи".into(),
            ))
        }
    };
    let current = sqlx::query!(
        r#"select id, year, number, signed_on as "signed_on: chrono::NaiveDate" from contracts
           where card_id = $1 and kind <> 'client' and not superseded"#,
        card
    )
    .fetch_optional(&mut *tx)
    .await?;
    if current.is_some() && !reissue {
        return Ok(None);
    }
    let hq = sqlx::query_scalar!("select id from company_cards where kind = 'hq'")
        .fetch_one(&mut *tx)
        .await?;
    let company = documents::party_in(&mut tx, hq).await?.data;
    let party = documents::party_in(&mut tx, card).await?.data;
    let (template, version) = current_in(&mut tx, kind).await?;
    let today = crate::time::local(Utc::now()).date_naive();
    let number = next_number(&mut tx, today.year()).await?;
    let replaces = current.as_ref().map(|c| {
        serde_json::json!({
            "number": c.year.zip(c.number).map(|(y, n)| format!("{n}/{y}")).unwrap_or_default(),
            "date": c.signed_on.format("%d.%m.%Y").to_string(),
        })
    });
    let number_text = format!("{number}/{}", today.year());
    let mut data = serde_json::json!({
        "number": number_text,
        "date": today.format("%d.%m.%Y").to_string(),
        "city": city_of(company["legal_address"].as_str().unwrap_or("")),
        "replaces": replaces,
        "company": company,
    });
    if kind == TemplateKind::PartnerContract {
        data["partner"] = party;
        data["grade"] = c.grade.unwrap_or_else(|| "Старт".into()).into();
    } else {
        data["franchisee"] = party;
        data["region"] = c.city.unwrap_or_default().into();
    }
    let pdf = documents::render(renderer, template, data).await?;
    let stored = documents::put(storage, "application/pdf", pdf).await?;
    let title = format!(
        "Договор № {number_text} от {} ({})",
        today.format("%d.%m.%Y"),
        if kind == TemplateKind::PartnerContract {
            "партнёрский"
        } else {
            "региональный офис"
        }
    );
    let written = async {
        documents::insert_in(
            &mut tx,
            &stored,
            NewDocument {
                kind: "contract",
                card: Some(card),
                client: None,
                title: &title,
                file_name: &format!("Договор {number}-{} {}.pdf", today.year(), c.public_id),
                content_type: "application/pdf",
                by: actor.map(|a| a.user_id),
            },
        )
        .await?;
        if let Some(cur) = &current {
            sqlx::query!("update contracts set superseded = true where id = $1", cur.id)
                .execute(&mut *tx)
                .await?;
        }
        let id = sqlx::query_scalar!(
            "insert into contracts (kind, card_id, year, number, signed_on, title, document_id, template_version,
                                    replaces_id, created_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id",
            c.kind,
            card,
            today.year(),
            number,
            today as _,
            title,
            stored.id,
            version,
            current.as_ref().map(|c| c.id),
            actor.map(|a| a.user_id)
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query!("delete from agreement_failures where card_id = $1", card)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            actor,
            "company_card",
            &card.to_string(),
            "contract",
            None,
            Some(serde_json::json!({ "Договор": title, "SHA-256": stored.sha256 })),
        )
        .await?;
        // Whoever signs for the partner or the office hears of it.
        let owners = sqlx::query_scalar!(
            "select id from users where id = $1 or (team_id = $2 and role = 'franchisee' and status = 'active')",
            c.user_id,
            c.team_id
        )
        .fetch_all(&mut *tx)
        .await?;
        let link = if c.user_id.is_some() { "/partner" } else { "/franchisee" };
        for owner in owners {
            notifications::notify(
                &mut tx,
                owner,
                "Договор готов",
                &format!("{title}: скачайте его в кабинете, подпишите и загрузите скан"),
                Some(link),
            )
            .await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    }
    .await;
    match written {
        Ok(id) => Ok(Some(id)),
        Err(e) => {
            stored.undo(storage).await;
            Err(e.into())
        }
    }
}
