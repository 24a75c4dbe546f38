//! The company card: read (own, one, the list) and edited by its owner and
//! HQ. A partner's card is theirs (users:edit on themselves); an office's
//! card belongs to every person of the office; HQ reaches all of them by
//! the matrix. Every change is audited; a change of bank details by the
//! counterparty rings HQ's bell, since money will go to the new account.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::validate::{validate_card, SigningBasis, TaxRegime, ValidCard};
use super::CounterpartyError;
use crate::rbac::{self, CompanyOp, Operation, Target};
use crate::types::LegalForm;
use crate::types::Scope;
use crate::{audit, notifications, Actor, Page};

/// A JSON `null` reads as an empty field, so a card read from the API
/// (where absent values are `null`) can be sent back as it is.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// The card as typed in a form or sent as JSON (every field a string).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardInput {
    #[serde(deserialize_with = "null_as_empty")]
    pub legal_form: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub name: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub inn: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub ogrn: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub kpp: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub legal_address: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub postal_address: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub bank_name: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub bik: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub settlement_account: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub correspondent_account: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub signatory: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub signatory_basis: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub attorney: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub tax_regime: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub contact_phone: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub contact_email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyCard {
    pub id: Uuid,
    /// `P-000123` for a partner, `F-000045` for a franchisee office.
    pub public_id: String,
    /// "partner" or "franchisee".
    pub kind: String,
    pub user_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub card: ValidCard,
    /// Whether documents can be printed from it: requisites and bank present.
    pub complete: bool,
    pub updated_at: DateTime<Utc>,
}

impl CompanyCard {
    /// The card as its form shows it.
    pub fn input(&self) -> CardInput {
        let c = &self.card;
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        CardInput {
            legal_form: c.legal_form.as_str().into(),
            name: c.name.clone(),
            inn: s(&c.inn),
            ogrn: s(&c.ogrn),
            kpp: s(&c.kpp),
            legal_address: c.legal_address.clone(),
            postal_address: c.postal_address.clone(),
            bank_name: c.bank_name.clone(),
            bik: s(&c.bik),
            settlement_account: s(&c.settlement_account),
            correspondent_account: s(&c.correspondent_account),
            signatory: c.signatory.clone(),
            signatory_basis: c.signatory_basis.as_str().into(),
            attorney: c.attorney.clone(),
            tax_regime: c.tax_regime.as_str().into(),
            contact_phone: s(&c.contact_phone),
            contact_email: s(&c.contact_email),
        }
    }
}

/// A line of HQ's list of counterparties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRow {
    pub id: Uuid,
    pub public_id: String,
    pub kind: String,
    pub name: String,
    pub legal_form: LegalForm,
    pub inn: Option<String>,
    pub complete: bool,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CardQuery {
    /// Name, public ID or INN, any part.
    pub q: Option<String>,
    /// "partner" or "franchisee".
    pub kind: Option<String>,
    pub page: Option<i64>,
}

const PER_PAGE: i64 = 50;

struct Row {
    id: Uuid,
    public_id: String,
    kind: String,
    user_id: Option<Uuid>,
    team_id: Option<Uuid>,
    owner_team: Option<Uuid>,
    legal_form: String,
    name: String,
    inn: Option<String>,
    ogrn: Option<String>,
    kpp: Option<String>,
    legal_address: String,
    postal_address: String,
    bank_name: String,
    bik: Option<String>,
    settlement_account: Option<String>,
    correspondent_account: Option<String>,
    signatory: String,
    signatory_basis: String,
    attorney: String,
    tax_regime: String,
    contact_phone: Option<String>,
    contact_email: Option<String>,
    updated_at: DateTime<Utc>,
}

fn complete(c: &ValidCard) -> bool {
    printable(
        c.legal_form,
        [c.inn.is_some(), c.ogrn.is_some(), c.kpp.is_some()],
        !c.signatory.is_empty(),
        c.settlement_account.is_some(),
    )
}

/// Whether an act or a contract can be printed: the requisites the legal
/// form needs ([ИНН, ОГРН, КПП] present), a signatory for an ООО, an account.
fn printable(form: LegalForm, [inn, ogrn, kpp]: [bool; 3], signatory: bool, account: bool) -> bool {
    let requisites = match form {
        LegalForm::Ooo => inn && ogrn && kpp && signatory,
        LegalForm::Ip => inn && ogrn,
        LegalForm::SelfEmployed | LegalForm::Individual => inn,
    };
    requisites && account
}

impl Row {
    fn into_card(self) -> CompanyCard {
        let card = ValidCard {
            legal_form: self.legal_form.parse().unwrap_or(LegalForm::Individual),
            name: self.name,
            inn: self.inn,
            ogrn: self.ogrn,
            kpp: self.kpp,
            legal_address: self.legal_address,
            postal_address: self.postal_address,
            bank_name: self.bank_name,
            bik: self.bik,
            settlement_account: self.settlement_account,
            correspondent_account: self.correspondent_account,
            signatory: self.signatory,
            signatory_basis: self.signatory_basis.parse().unwrap_or(SigningBasis::Charter),
            attorney: self.attorney,
            tax_regime: self.tax_regime.parse().unwrap_or(TaxRegime::None),
            contact_phone: self.contact_phone,
            contact_email: self.contact_email,
        };
        CompanyCard {
            id: self.id,
            public_id: self.public_id,
            kind: self.kind,
            user_id: self.user_id,
            team_id: self.team_id,
            complete: complete(&card),
            card,
            updated_at: self.updated_at,
        }
    }
}

/// Reads one card, locking it first when `lock` (to edit it).
async fn read(tx: &mut Transaction<'_, Postgres>, id: Uuid, lock: bool) -> Result<Row, CounterpartyError> {
    if lock {
        sqlx::query!("select id from company_cards where id = $1 for update", id)
            .fetch_optional(&mut **tx)
            .await?;
    }
    sqlx::query_as!(
        Row,
        r#"select c.id, c.public_id, c.kind, c.user_id, c.team_id, u.team_id as owner_team, c.legal_form, c.name,
                  c.inn, c.ogrn, c.kpp, c.legal_address, c.postal_address, c.bank_name, c.bik,
                  c.settlement_account, c.correspondent_account, c.signatory, c.signatory_basis, c.attorney,
                  c.tax_regime, c.contact_phone, c.contact_email, c.updated_at as "updated_at: DateTime<Utc>"
           from company_cards c left join users u on u.id = c.user_id
           where c.id = $1"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(CounterpartyError::NotFound)
}

/// Whom a card belongs to, as the matrix sees it: a partner's card is the
/// partner's own; an office's card is owned by each of its people.
async fn target(tx: &mut Transaction<'_, Postgres>, row: &Row) -> Result<Target, sqlx::Error> {
    Ok(match (row.user_id, row.team_id) {
        (Some(owner), _) => Target::Owned {
            owner,
            team: row.owner_team,
        },
        (None, team) => Target::Record {
            owners: sqlx::query_scalar!("select id from users where team_id = $1", team)
                .fetch_all(&mut **tx)
                .await?,
            team,
        },
    })
}

async fn authorized(
    pool: &PgPool,
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    op: CompanyOp,
    id: Uuid,
    lock: bool,
) -> Result<Row, CounterpartyError> {
    let row = read(tx, id, lock).await?;
    let target = target(tx, &row).await?;
    rbac::authorize(pool, actor, Operation::Companies(op), target).await?;
    Ok(row)
}

/// One card (users:view on its owner).
pub async fn card(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<CompanyCard, CounterpartyError> {
    let mut tx = pool.begin().await?;
    let row = authorized(pool, &mut tx, actor, CompanyOp::View, id, false).await?;
    tx.commit().await?;
    Ok(row.into_card())
}

/// The actor's own card: the partner's, or their office's.
pub async fn own_card(pool: &PgPool, actor: &Actor) -> Result<CompanyCard, CounterpartyError> {
    let id = sqlx::query_scalar!(
        "select id from company_cards where user_id = $1 or (team_id = $2 and $2 is not null) order by kind limit 1",
        actor.user_id,
        actor.team_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(CounterpartyError::NotFound)?;
    card(pool, actor, id).await
}

/// Counterparties' cards: HQ sees all, anyone else only their own.
pub async fn list_cards(pool: &PgPool, actor: &Actor, q: &CardQuery) -> Result<Page<CardRow>, CounterpartyError> {
    let scope = rbac::authorize(pool, actor, Operation::Companies(CompanyOp::List), Target::Collection).await?;
    let all = scope == Scope::All;
    let page = q.page.unwrap_or(1).clamp(1, 10_000_000);
    let text =
        q.q.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| crate::like_contains(&s.to_lowercase()));
    // The company's own card («hq») only when asked for by kind.
    let kind = q
        .kind
        .as_deref()
        .filter(|k| matches!(*k, "partner" | "franchisee" | "hq"));
    let rows = sqlx::query!(
        r#"select id, public_id, kind, name, legal_form, inn, ogrn, kpp, signatory, settlement_account,
                  updated_at as "updated_at: DateTime<Utc>", count(*) over () as "total!"
           from company_cards
           where ($1 or user_id = $2 or (team_id = $3 and $3 is not null))
             and ($4::text is null or lower(name) like $4 or lower(public_id) like $4 or inn like $4)
             and (($5::text is null and kind <> 'hq') or kind = $5)
           order by public_id
           limit $6 offset $7"#,
        all,
        actor.user_id,
        actor.team_id,
        text,
        kind,
        PER_PAGE,
        (page - 1) * PER_PAGE
    )
    .fetch_all(pool)
    .await?;
    let total = rows.first().map(|r| r.total).unwrap_or(0);
    Ok(Page {
        items: rows
            .into_iter()
            .map(|r| {
                let form: LegalForm = r.legal_form.parse().unwrap_or(LegalForm::Individual);
                CardRow {
                    id: r.id,
                    public_id: r.public_id,
                    kind: r.kind,
                    complete: printable(
                        form,
                        [r.inn.is_some(), r.ogrn.is_some(), r.kpp.is_some()],
                        !r.signatory.is_empty(),
                        r.settlement_account.is_some(),
                    ),
                    name: r.name,
                    legal_form: form,
                    inn: r.inn,
                    updated_at: r.updated_at,
                }
            })
            .collect(),
        total,
        page,
        per_page: PER_PAGE,
    })
}

fn bank_of(c: &ValidCard) -> (&str, &Option<String>, &Option<String>, &Option<String>) {
    (&c.bank_name, &c.bik, &c.settlement_account, &c.correspondent_account)
}

/// Saves a card (users:edit on its owner). Bad input changes nothing and
/// names every wrong field.
pub async fn update_card(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    input: &CardInput,
) -> Result<CompanyCard, CounterpartyError> {
    let mut tx = pool.begin().await?;
    let before = authorized(pool, &mut tx, actor, CompanyOp::Edit, id, true)
        .await?
        .into_card();
    let c = validate_card(input).map_err(CounterpartyError::Validation)?;
    let updated_at = sqlx::query_scalar!(
        r#"update company_cards set legal_form = $2, name = $3, inn = $4, ogrn = $5, kpp = $6, legal_address = $7,
               postal_address = $8, bank_name = $9, bik = $10, settlement_account = $11, correspondent_account = $12,
               signatory = $13, signatory_basis = $14, attorney = $15, tax_regime = $16, contact_phone = $17,
               contact_email = $18
           where id = $1
           returning updated_at as "updated_at: DateTime<Utc>""#,
        id,
        c.legal_form.as_str(),
        c.name,
        c.inn,
        c.ogrn,
        c.kpp,
        c.legal_address,
        c.postal_address,
        c.bank_name,
        c.bik,
        c.settlement_account,
        c.correspondent_account,
        c.signatory,
        c.signatory_basis.as_str(),
        c.attorney,
        c.tax_regime.as_str(),
        c.contact_phone,
        c.contact_email
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "company_card",
        &id.to_string(),
        "update",
        serde_json::to_value(&before.card).ok(),
        serde_json::to_value(&c).ok(),
    )
    .await?;
    let bank_changed = bank_of(&before.card) != bank_of(&c);
    if bank_changed && !actor.role.is_staff() {
        notifications::notify_user_managers(
            &mut tx,
            "Изменены банковские реквизиты",
            &format!(
                "{} «{}»: банк {}, р/с {}",
                before.public_id,
                c.name,
                if c.bank_name.is_empty() { "—" } else { &c.bank_name },
                c.settlement_account.as_deref().unwrap_or("—")
            ),
            Some(&format!("/companies/{id}")),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(CompanyCard {
        complete: complete(&c),
        card: c,
        updated_at,
        ..before
    })
}

/// Whether the actor may edit the card (otherwise the form is read-only).
pub async fn may_edit(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<bool, CounterpartyError> {
    let mut tx = pool.begin().await?;
    let row = read(&mut tx, id, false).await?;
    let target = target(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(
        rbac::authorize(pool, actor, Operation::Companies(CompanyOp::Edit), target)
            .await
            .is_ok(),
    )
}

/// Whom the card `id` belongs to as the matrix sees it (for the features
/// whose records hang off a card: settlements, documents); `None` when
/// there is no such card.
pub(crate) async fn card_target(pool: &PgPool, id: Uuid) -> Result<Option<Target>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let target = match read(&mut tx, id, false).await {
        Ok(row) => Some(target(&mut tx, &row).await?),
        Err(CounterpartyError::Db(e)) => return Err(e),
        Err(_) => None,
    };
    tx.commit().await?;
    Ok(target)
}
