//! Document templates: Typst markup an admin edits in the browser, with a
//! live preview on sample data. The built-in text is used until an admin
//! saves their own; every save bumps the version that issued documents
//! record, and a saved template never touches an issued document (those
//! are stored PDFs).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, Transaction};
use std::sync::Arc;

use super::{render, DocumentError, Render};
use crate::accounts::FieldError;
use crate::rbac::{self, SettingsOp};
use crate::{audit, Actor};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    /// «Акт об оказании услуг» of a settlement period.
    Act,
    /// The partner's agreement with the company.
    PartnerContract,
    /// A regional office's agreement with the company.
    FranchiseeContract,
    /// An office's (or HQ's) contract with its client.
    ClientContract,
}

impl TemplateKind {
    pub const ALL: [Self; 4] = [
        Self::Act,
        Self::PartnerContract,
        Self::FranchiseeContract,
        Self::ClientContract,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Act => "act",
            Self::PartnerContract => "partner_contract",
            Self::FranchiseeContract => "franchisee_contract",
            Self::ClientContract => "client_contract",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    pub fn title(self) -> &'static str {
        match self {
            Self::Act => "Акт об оказании услуг",
            Self::PartnerContract => "Договор с партнёром",
            Self::FranchiseeContract => "Договор с франчайзи",
            Self::ClientContract => "Договор с клиентом",
        }
    }
    fn builtin(self) -> &'static str {
        match self {
            Self::Act => include_str!("act.typ"),
            Self::PartnerContract => include_str!("partner_contract.typ"),
            Self::FranchiseeContract => include_str!("franchisee_contract.typ"),
            Self::ClientContract => include_str!("client_contract.typ"),
        }
    }
}

/// A variable a template can use, for the editor's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    pub name: String,
    pub about: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateView {
    pub kind: TemplateKind,
    pub title: String,
    pub body: String,
    /// 0: the built-in text.
    pub version: i32,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
    pub variables: Vec<Variable>,
}

fn party_vars(prefix: &str, who: &str) -> Vec<Variable> {
    [
        ("name", "наименование"),
        ("inn", "ИНН"),
        ("kpp", "КПП (пусто, если нет)"),
        ("ogrn", "ОГРН или ОГРНИП"),
        ("ogrn_label", "«ОГРН» или «ОГРНИП»"),
        ("legal_address", "юридический адрес"),
        ("postal_address", "почтовый адрес"),
        ("bank_name", "банк"),
        ("bik", "БИК"),
        ("account", "расчётный счёт"),
        ("corr_account", "корреспондентский счёт"),
        ("signatory", "подписант"),
        ("basis", "основание: «Устава» или «доверенности № …»"),
        ("public_id", "номер в системе (P-000123)"),
        ("legal_form", "форма: «индивидуальный предприниматель», …"),
        ("phone", "телефон"),
        ("email", "email"),
    ]
    .into_iter()
    .map(|(k, about)| Variable {
        name: format!("d.{prefix}.{k}"),
        about: format!("{who}: {about}"),
    })
    .collect()
}

fn vars(list: &[(&str, &str)]) -> Vec<Variable> {
    list.iter()
        .map(|(n, a)| Variable {
            name: (*n).into(),
            about: (*a).into(),
        })
        .collect()
}

const CONTRACT_VARS: [(&str, &str); 4] = [
    ("d.number", "номер договора (сквозной в пределах года)"),
    ("d.date", "дата договора, ДД.ММ.ГГГГ"),
    ("d.city", "место заключения: «г. Москва»"),
    ("d.replaces", "договор, вместо которого этот: none или (number, date)"),
];

fn variables(kind: TemplateKind) -> Vec<Variable> {
    match kind {
        TemplateKind::PartnerContract => {
            let mut v = vars(&CONTRACT_VARS);
            v.extend(vars(&[("d.grade", "грейд партнёра на дату договора")]));
            v.extend(party_vars("partner", "Партнёр"));
            v.extend(party_vars("company", "Компания"));
            v
        }
        TemplateKind::FranchiseeContract => {
            let mut v = vars(&CONTRACT_VARS);
            v.extend(vars(&[("d.region", "город или регион офиса")]));
            v.extend(party_vars("franchisee", "Офис"));
            v.extend(party_vars("company", "Компания"));
            v
        }
        TemplateKind::ClientContract => {
            let mut v = vars(&CONTRACT_VARS[..3]);
            v.extend(vars(&[
                ("d.client.name", "Клиент: ФИО"),
                ("d.client.phone", "Клиент: телефон"),
                ("d.client.email", "Клиент: email"),
                ("d.client.city", "Клиент: город"),
                ("d.deal", "сделка: none или (number, product, amount)"),
                ("d.fee", "стоимость услуг, «15 000,00» (пусто — не указана)"),
            ]));
            v.extend(party_vars("executor", "Исполнитель (офис или компания)"));
            v
        }
        TemplateKind::Act => {
            let mut v: Vec<Variable> = [
                ("d.number", "номер акта (сквозной в пределах года)"),
                ("d.date", "дата акта, ДД.ММ.ГГГГ"),
                ("d.period", "период: «ноябрь 2026»"),
                ("d.replaces", "исправляемый акт: none или (number, date)"),
                (
                    "d.rows",
                    "строки: n, deal, product, level, bank, issued_on, base, percent, amount",
                ),
                ("d.count", "число строк"),
                ("d.total", "итого, «33 000,00»"),
                ("d.total_words", "итого прописью"),
                ("d.vat", "сумма НДС («0,00», если без НДС)"),
                ("d.vat_line", "строка об НДС по налоговому режиму исполнителя"),
            ]
            .into_iter()
            .map(|(n, a)| Variable {
                name: n.into(),
                about: a.into(),
            })
            .collect();
            v.extend(party_vars("executor", "Исполнитель (партнёр)"));
            v.extend(party_vars("customer", "Заказчик (компания)"));
            v
        }
    }
}

fn sample_party(name: &str, inn: &str, signatory: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name, "inn": inn, "kpp": "770701001", "ogrn": "1027700132195", "ogrn_label": "ОГРН",
        "legal_address": "125009, г. Москва, ул. Тверская, д. 1", "postal_address": "125009, г. Москва, ул. Тверская, д. 1",
        "bank_name": "ПАО Сбербанк", "bik": "044525225", "account": "40702810938000000001",
        "corr_account": "30101810400000000225", "signatory": signatory, "basis": "Устава", "public_id": "P-000001",
        "legal_form": "общество с ограниченной ответственностью", "phone": "+7 900 000-00-00", "email": "office@example.ru",
    })
}

/// Data of the kind's shape for the preview (and the benchmark).
pub fn sample_data(kind: TemplateKind) -> serde_json::Value {
    sample(kind)
}

fn sample(kind: TemplateKind) -> serde_json::Value {
    match kind {
        TemplateKind::Act => serde_json::json!({
            "number": "17", "date": "01.12.2026", "period": "ноябрь 2026", "replaces": null,
            "executor": sample_party("ООО «Ромашка»", "7707083893", "Генеральный директор Петров П. П."),
            "customer": sample_party("ООО «МаК»", "7736207543", "Генеральный директор Иванов И. И."),
            "rows": [
                {"n": 1, "deal": "№ 123", "product": "Ипотека", "level": "", "bank": "ВТБ", "issued_on": "15.11.2026",
                 "base": "3 000 000,00", "percent": "1 %", "amount": "30 000,00"},
                {"n": 2, "deal": "№ 124", "product": "Автокредит", "level": "реферал 1-го уровня", "bank": "Сбербанк",
                 "issued_on": "20.11.2026", "base": "30 000,00", "percent": "10 %", "amount": "3 000,00"},
            ],
            "count": 2, "total": "33 000,00", "total_words": "Тридцать три тысячи рублей 00 копеек",
            "vat": "0,00", "vat_line": "Без НДС (упрощённая система налогообложения)",
        }),
        TemplateKind::PartnerContract => serde_json::json!({
            "number": "42", "date": "01.12.2026", "city": "г. Москва", "replaces": null, "grade": "Старт",
            "partner": sample_party("ООО «Ромашка»", "7707083893", "Генеральный директор Петров П. П."),
            "company": sample_party("ООО «МаК»", "7736207543", "Генеральный директор Иванов И. И."),
        }),
        TemplateKind::FranchiseeContract => serde_json::json!({
            "number": "43", "date": "01.12.2026", "city": "г. Москва", "replaces": null, "region": "Казань",
            "franchisee": sample_party("ООО «МаК Казань»", "1655000000", "Директор Сидоров С. С."),
            "company": sample_party("ООО «МаК»", "7736207543", "Генеральный директор Иванов И. И."),
        }),
        TemplateKind::ClientContract => serde_json::json!({
            "number": "44", "date": "01.12.2026", "city": "г. Казань", "fee": "15 000,00",
            "client": {"name": "Смирнова Анна Петровна", "phone": "+7 900 123-45-67", "email": "anna@example.ru", "city": "Казань"},
            "deal": {"number": "1024", "product": "Ипотека", "amount": "3 000 000,00"},
            "executor": sample_party("ООО «МаК Казань»", "1655000000", "Директор Сидоров С. С."),
        }),
    }
}

/// The template in force and its version, in the caller's transaction.
pub(crate) async fn current_in(
    tx: &mut Transaction<'_, Postgres>,
    kind: TemplateKind,
) -> Result<(String, i32), sqlx::Error> {
    let row = sqlx::query!(
        "select body, version from document_templates where kind = $1",
        kind.as_str()
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some(r) => (r.body, r.version),
        None => (kind.builtin().to_string(), 0),
    })
}

/// The template as the editor shows it (settings:edit).
pub async fn template(pool: &PgPool, actor: &Actor, kind: TemplateKind) -> Result<TemplateView, DocumentError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditTemplates).await?;
    let row = sqlx::query!(
        r#"select t.body, t.version, t.updated_at as "updated_at: DateTime<Utc>", u.full_name as "by?"
           from document_templates t left join users u on u.id = t.updated_by where t.kind = $1"#,
        kind.as_str()
    )
    .fetch_optional(pool)
    .await?;
    let (body, version, updated_at, updated_by) = match row {
        Some(r) => (r.body, r.version, Some(r.updated_at), r.by),
        None => (kind.builtin().to_string(), 0, None, None),
    };
    Ok(TemplateView {
        kind,
        title: kind.title().into(),
        body,
        version,
        updated_at,
        updated_by,
        variables: variables(kind),
    })
}

fn check_body(body: &str) -> Result<(), DocumentError> {
    if body.trim().is_empty() {
        return Err(DocumentError::Validation(vec![FieldError::new(
            "body",
            "Шаблон пустой",
        )]));
    }
    if body.len() > 200_000 {
        return Err(DocumentError::Validation(vec![FieldError::new(
            "body",
            "Шаблон длиннее 200 000 символов",
        )]));
    }
    Ok(())
}

/// The PDF of `body` on sample data (settings:edit): the editor's preview.
/// A broken template answers with its line and the reason.
pub async fn preview(
    pool: &PgPool,
    renderer: Option<&Arc<dyn Render>>,
    actor: &Actor,
    kind: TemplateKind,
    body: &str,
) -> Result<Vec<u8>, DocumentError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditTemplates).await?;
    check_body(body)?;
    let renderer = renderer.ok_or_else(|| DocumentError::Unavailable("no renderer".into()))?;
    render(renderer, body.to_string(), sample(kind)).await
}

/// Saves a template (settings:edit) after rendering it on sample data, so
/// a template that does not compile is never saved. `None` restores the
/// built-in text. Audited; the version goes up by one.
pub async fn save_template(
    pool: &PgPool,
    renderer: Option<&Arc<dyn Render>>,
    actor: &Actor,
    kind: TemplateKind,
    body: Option<&str>,
) -> Result<TemplateView, DocumentError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditTemplates).await?;
    let body = body.unwrap_or(kind.builtin());
    check_body(body)?;
    let renderer = renderer.ok_or_else(|| DocumentError::Unavailable("no renderer".into()))?;
    render(renderer, body.to_string(), sample(kind)).await?;
    let mut tx = pool.begin().await?;
    let (before, _) = current_in(&mut tx, kind).await?;
    let version = sqlx::query_scalar!(
        "insert into document_templates (kind, body, updated_by) values ($1, $2, $3)
         on conflict (kind) do update set body = excluded.body, version = document_templates.version + 1,
             updated_by = excluded.updated_by, updated_at = now()
         returning version",
        kind.as_str(),
        body,
        actor.user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "document_template",
        kind.as_str(),
        "update",
        Some(serde_json::json!({ "body": before })),
        Some(serde_json::json!({ "body": body, "version": version })),
    )
    .await?;
    tx.commit().await?;
    template(pool, actor, kind).await
}
