use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use tokio::sync::mpsc;

use super::fields::{custom_fields, display_value, CustomField};
use super::filter::{resolve_custom, LeadFilter};
use super::LeadsError;
use crate::rbac::LeadOp;
use crate::rbac::{self, Operation, Target};
use crate::types::Money;
use crate::Actor;

/// One exported row. Personal data is already masked when the exporter's
/// role may not view clients.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub number: i64,
    pub created_at: DateTime<Utc>,
    pub client_name: String,
    pub phone: String,
    pub email: String,
    pub product: String,
    pub amount: Option<Money>,
    pub source: String,
    pub method: String,
    pub status: String,
    pub stage: String,
    pub responsible: String,
    pub partner: String,
    pub tags: String,
    /// The active extra fields' values, in `export_header`'s order.
    pub extra: Vec<String>,
}

const BASE_HEADER: [&str; 14] = [
    "Номер",
    "Создан",
    "Клиент",
    "Телефон",
    "Email",
    "Продукт",
    "Сумма, ₽",
    "Источник",
    "Способ обработки",
    "Статус",
    "Этап",
    "Ответственный",
    "Партнёр",
    "Теги",
];

/// The export's columns: the fixed ones, then the active extra fields.
pub async fn export_header(pool: &PgPool) -> Result<Vec<String>, LeadsError> {
    let fields = active_fields(pool).await?;
    Ok(BASE_HEADER
        .iter()
        .map(|s| s.to_string())
        .chain(fields.into_iter().map(|f| f.label))
        .collect())
}

async fn active_fields(pool: &PgPool) -> Result<Vec<CustomField>, LeadsError> {
    Ok(custom_fields(pool).await?.into_iter().filter(|f| f.active).collect())
}

/// Streams the leads of the current filtered view into `out` (leads:export;
/// rows limited to the exporter's scope). Memory stays bounded: rows come
/// from one server-side cursor and wait for the reader. Returns the number
/// of rows sent; stops early when the reader goes away.
pub async fn export_leads(
    pool: &PgPool,
    actor: &Actor,
    f: LeadFilter,
    out: mpsc::Sender<ExportRow>,
) -> Result<u64, LeadsError> {
    let scope = rbac::authorize(pool, actor, Operation::Leads(LeadOp::Export), Target::Collection).await?;
    let see_scope = rbac::scope_for(
        pool,
        actor.role,
        crate::types::Resource::Leads,
        crate::types::Action::View,
    )
    .await?;
    // Export never reaches further than viewing does.
    let scope = scope.min(see_scope);
    let mask = super::masks_personal_data(pool, actor).await?;
    let all_fields = custom_fields(pool).await?;
    let custom = resolve_custom(&all_fields, &f)?;
    let fields: Vec<CustomField> = all_fields.into_iter().filter(|f| f.active).collect();
    let mut q = QueryBuilder::<Postgres>::new(
        "select l.number, l.created_at, c.full_name as client_name,
                (select phone from client_phones p where p.client_id = c.id order by position, phone limit 1) as phone,
                (select email from client_emails e where e.client_id = c.id order by position, email limit 1) as email,
                pr.name as product, l.amount_kopecks, so.name as source, me.name as method, st.name as status,
                sg.name as stage, l.unsorted, ru.full_name as responsible, pu.full_name as partner,
                array_to_string(l.tags, ', ') as tags, l.extra
         from leads l
         join clients c on c.id = l.client_id
         left join dictionary_items pr on pr.id = l.product_id
         left join dictionary_items so on so.id = l.source_id
         left join dictionary_items me on me.id = l.method_id
         left join dictionary_items st on st.id = l.status_id
         left join stages sg on sg.id = l.stage_id
         left join users ru on ru.id = l.responsible_id
         left join users pu on pu.id = l.partner_id",
    );
    // The same filters as the list page, so the file holds exactly the rows shown.
    q.push(super::list::sort_join(&f.sort));
    super::list::push_filters(&mut q, actor, scope, &f, &custom);
    q.push(super::list::order_by(&f.sort));
    let mut rows = q.build().fetch(pool);
    let mut sent = 0u64;
    while let Some(r) = rows.try_next().await? {
        let text = |col: &str| -> Result<Option<String>, sqlx::Error> { r.try_get(col) };
        let client_name: String = r.try_get("client_name")?;
        let unsorted: bool = r.try_get("unsorted")?;
        let extra: serde_json::Value = r.try_get("extra")?;
        let row = ExportRow {
            number: r.try_get("number")?,
            created_at: r.try_get("created_at")?,
            client_name: if mask { mask_name(&client_name) } else { client_name },
            phone: text("phone")?
                .map(|p| if mask { mask_phone(&p) } else { p })
                .unwrap_or_default(),
            email: text("email")?
                .map(|e| if mask { mask_email(&e) } else { e })
                .unwrap_or_default(),
            product: text("product")?.unwrap_or_default(),
            amount: r.try_get::<Option<i64>, _>("amount_kopecks")?.map(Money::from_kopecks),
            source: text("source")?.unwrap_or_default(),
            method: text("method")?.unwrap_or_default(),
            status: text("status")?.unwrap_or_default(),
            stage: text("stage")?.unwrap_or_else(|| {
                if unsorted {
                    "Неразобранное".into()
                } else {
                    String::new()
                }
            }),
            responsible: text("responsible")?.unwrap_or_default(),
            partner: text("partner")?.unwrap_or_default(),
            tags: text("tags")?.unwrap_or_default(),
            extra: fields
                .iter()
                .map(|fd| {
                    extra
                        .get(&fd.key)
                        .map(|v| display_value(fd.kind, v))
                        .unwrap_or_default()
                })
                .collect(),
        };
        if out.send(row).await.is_err() {
            break;
        }
        sent += 1;
    }
    Ok(sent)
}

/// "+79991234567" → "+7999*****67".
/// A spreadsheet cell that can't be read as a formula (OWASP CSV
/// injection): text starting with `=`, `+`, `-`, `@`, a tab or a CR gets a
/// leading apostrophe, as Excel itself writes literal text.
pub fn spreadsheet_text(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

pub fn mask_phone(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i >= 5 && i + 2 < chars.len() { '*' } else { *c })
        .collect()
}

/// "ivan@mail.ru" → "i***@mail.ru".
pub fn mask_email(e: &str) -> String {
    match e.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}

/// "Иванов Иван" → "Иванов И.".
pub fn mask_name(n: &str) -> String {
    let mut parts = n.split_whitespace();
    let first = parts.next().unwrap_or("");
    let initials: Vec<String> = parts
        .filter_map(|p| p.chars().next())
        .map(|c| format!("{c}."))
        .collect();
    if initials.is_empty() {
        first.chars().take(1).collect::<String>() + "***"
    } else {
        format!("{first} {}", initials.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_cells_are_neutralised() {
        assert_eq!(
            spreadsheet_text("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(spreadsheet_text("+1"), "'+1");
        assert_eq!(spreadsheet_text("-2"), "'-2");
        assert_eq!(spreadsheet_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_text("\tx"), "'\tx");
        assert_eq!(spreadsheet_text("Иван"), "Иван");
        assert_eq!(spreadsheet_text(""), "");
    }

    #[test]
    fn personal_data_is_masked_but_recognisable() {
        assert_eq!(mask_phone("+79991234567"), "+7999*****67");
        assert_eq!(mask_email("ivan@mail.ru"), "i***@mail.ru");
        assert_eq!(mask_name("Иванов Иван Иванович"), "Иванов И. И.");
        assert_eq!(mask_name("Иван"), "И***");
    }
}
