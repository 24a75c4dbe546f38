//! Lead forms on the company's websites: a public address per form
//! (`/api/v1/forms/{key}`) takes a name, a phone or email, a comment and the
//! visitor's consent, and drops a lead into the unsorted inbox through the
//! one door every lead takes (duplicate control: a known client's request
//! joins their card). The form's source and product are set on the lead,
//! the UTM tags become the lead's tags, the consent text's version is kept
//! with the client (152-FZ). A hidden honeypot field catches simple bots;
//! each address may send a form's set number of submissions an hour.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::ipnetwork::IpNetwork;
use sqlx::PgPool;
use uuid::Uuid;

use super::IntegrationError;
use crate::accounts::FieldError;
use crate::leads::{CreateOutcome, LeadsError, NewLead};
use crate::rbac::{self, SettingsOp};
use crate::{audit, Actor};

/// The field a person never sees and a form-filling bot fills.
pub const HONEYPOT_FIELD: &str = "website";
/// The UTM parameters kept with a submission (and as the lead's tags).
pub const UTM_KEYS: [&str; 5] = ["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"];
const MAX_ORIGINS: usize = 20;

/// A form as its settings page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WebForm {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub source_id: Option<Uuid>,
    pub source: Option<String>,
    pub product_id: Option<Uuid>,
    pub product: Option<String>,
    pub allowed_origins: Vec<String>,
    pub consent_text: String,
    pub consent_version: i32,
    pub success_url: String,
    pub per_ip_hourly: i32,
    pub enabled: bool,
    pub owner: String,
    /// Leads the form brought in the last 30 days, and everything it
    /// refused or caught as spam.
    pub leads_30d: i64,
    pub refused_30d: i64,
    pub created_at: DateTime<Utc>,
}

/// What an admin sets on a form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FormInput {
    pub name: String,
    #[serde(default)]
    pub source_id: Option<Uuid>,
    #[serde(default)]
    pub product_id: Option<Uuid>,
    /// One origin per entry ("https://example.ru").
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    pub consent_text: String,
    #[serde(default)]
    pub success_url: String,
    #[serde(default = "default_rate")]
    pub per_ip_hourly: i32,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_rate() -> i32 {
    20
}
fn yes() -> bool {
    true
}

/// One post to a form, as the route read it.
#[derive(Debug, Clone, Default)]
pub struct FormSubmission {
    /// Every field posted (name, phone, email, comment, amount, consent,
    /// the honeypot, utm_*, page).
    pub fields: BTreeMap<String, String>,
    pub ip: Option<IpAddr>,
    /// The `Origin` header of a browser script's request.
    pub origin: Option<String>,
    /// The `Referer`, when the form didn't say which page it was on.
    pub referer: Option<String>,
}

/// What a submission came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubmitOutcome {
    /// Where a plain HTML form's visitor goes next (empty: our page).
    pub success_url: String,
    /// The honeypot was filled: answered like a success, nothing created.
    pub spam: bool,
}

/// The copy-paste HTML of a form for the company's site: the fields the
/// endpoint reads, the consent checkbox with the form's text, the hidden
/// honeypot and a script that carries the page's UTM tags along.
pub fn snippet(form: &WebForm, base_url: &str) -> String {
    let action = format!("{}/api/v1/forms/{}", base_url.trim_end_matches('/'), form.key);
    let utm: String = UTM_KEYS
        .iter()
        .map(|k| format!("\n  <input type=\"hidden\" name=\"{k}\">"))
        .collect();
    format!(
        r#"<form method="post" action="{action}" class="mak-form">
  <input name="name" placeholder="Имя" required>
  <input name="phone" type="tel" placeholder="+7 900 000-00-00" required>
  <input name="email" type="email" placeholder="Email">
  <textarea name="comment" placeholder="Комментарий"></textarea>
  <label><input type="checkbox" name="consent" value="yes" required> {consent}</label>
  <input name="{honeypot}" tabindex="-1" autocomplete="off" style="position:absolute;left:-9999px" aria-hidden="true">
  <input type="hidden" name="page">{utm}
  <button type="submit">Отправить</button>
</form>
<script>
(function () {{
  var f = document.currentScript.previousElementSibling, q = new URLSearchParams(location.search);
  f.page.value = location.href;
  {keys}.forEach(function (k) {{ if (q.get(k)) f[k].value = q.get(k); }});
}})();
</script>"#,
        consent = crate::types::escape_html(&form.consent_text),
        honeypot = HONEYPOT_FIELD,
        keys = serde_json::to_string(&UTM_KEYS).unwrap_or_default(),
    )
}

/// Every form (settings:edit).
pub async fn list_forms(pool: &PgPool, actor: &Actor) -> Result<Vec<WebForm>, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let rows = sqlx::query!(
        r#"select f.id, f.key, f.name, f.source_id, s.name as "source?", f.product_id, p.name as "product?",
                  f.allowed_origins, f.consent_text, f.consent_version, f.success_url, f.per_ip_hourly, f.enabled,
                  u.full_name as owner, f.created_at as "created_at: DateTime<Utc>",
                  (select count(*) from web_form_submissions w where w.form_id = f.id
                     and w.created_at > now() - interval '30 days' and w.lead_id is not null) as "leads_30d!",
                  (select count(*) from web_form_submissions w where w.form_id = f.id
                     and w.created_at > now() - interval '30 days' and w.outcome in ('spam', 'refused')) as "refused_30d!"
           from web_forms f
           join users u on u.id = f.owner_id
           left join dictionary_items s on s.id = f.source_id
           left join dictionary_items p on p.id = f.product_id
           order by f.created_at"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| WebForm {
            id: r.id,
            key: r.key,
            name: r.name,
            source_id: r.source_id,
            source: r.source,
            product_id: r.product_id,
            product: r.product,
            allowed_origins: r.allowed_origins,
            consent_text: r.consent_text,
            consent_version: r.consent_version,
            success_url: r.success_url,
            per_ip_hourly: r.per_ip_hourly,
            enabled: r.enabled,
            owner: r.owner,
            leads_30d: r.leads_30d,
            refused_30d: r.refused_30d,
            created_at: r.created_at,
        })
        .collect())
}

/// Creates a form (`id` none) or changes one (settings:edit). A changed
/// consent text becomes a new version; the old ones stay readable.
pub async fn save_form(
    pool: &PgPool,
    actor: &Actor,
    id: Option<Uuid>,
    input: FormInput,
) -> Result<Uuid, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let input = validate(input)?;
    let mut tx = pool.begin().await?;
    let (form_id, version, created) = match id {
        None => {
            let key = crate::crypto::random_token("")[..16].to_string();
            let id = sqlx::query_scalar!(
                "insert into web_forms (key, name, source_id, product_id, allowed_origins, consent_text, success_url,
                                        per_ip_hourly, enabled, owner_id)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id",
                key,
                input.name,
                input.source_id,
                input.product_id,
                &input.allowed_origins,
                input.consent_text,
                input.success_url,
                input.per_ip_hourly,
                input.enabled,
                actor.user_id
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(dictionary_error)?;
            (id, 1, true)
        }
        Some(id) => {
            let old = sqlx::query!(
                "select consent_text, consent_version from web_forms where id = $1 for update",
                id
            )
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(IntegrationError::NotFound)?;
            let version = if old.consent_text == input.consent_text {
                old.consent_version
            } else {
                old.consent_version + 1
            };
            sqlx::query!(
                "update web_forms set name = $2, source_id = $3, product_id = $4, allowed_origins = $5,
                        consent_text = $6, consent_version = $7, success_url = $8, per_ip_hourly = $9, enabled = $10
                 where id = $1",
                id,
                input.name,
                input.source_id,
                input.product_id,
                &input.allowed_origins,
                input.consent_text,
                version,
                input.success_url,
                input.per_ip_hourly,
                input.enabled
            )
            .execute(&mut *tx)
            .await
            .map_err(dictionary_error)?;
            (id, version, false)
        }
    };
    sqlx::query!(
        "insert into web_form_consents (form_id, version, text) values ($1, $2, $3) on conflict do nothing",
        form_id,
        version,
        input.consent_text
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "web_form",
        &form_id.to_string(),
        if created { "create" } else { "update" },
        None,
        Some(serde_json::json!({
            "name": input.name, "allowed_origins": input.allowed_origins, "consent_version": version,
            "per_ip_hourly": input.per_ip_hourly, "enabled": input.enabled,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(form_id)
}

/// Deletes a form (settings:edit); its address stops answering. The leads
/// it brought stay.
pub async fn delete_form(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<(), IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let mut tx = pool.begin().await?;
    let name = sqlx::query_scalar!("delete from web_forms where id = $1 returning name", id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(IntegrationError::NotFound)?;
    audit::record(
        &mut tx,
        Some(actor),
        "web_form",
        &id.to_string(),
        "delete",
        Some(serde_json::json!({ "name": name })),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The sites that may post to an enabled form from a script (for the CORS
/// preflight); `None`: no such form.
pub async fn form_origins(pool: &PgPool, key: &str) -> Result<Option<Vec<String>>, IntegrationError> {
    Ok(
        sqlx::query_scalar!("select allowed_origins from web_forms where key = $1 and enabled", key)
            .fetch_optional(pool)
            .await?,
    )
}

/// Takes one post to the form `key`: anyone may send it, so everything is
/// checked here — the form, the site, the address's hourly allowance, the
/// honeypot, the data — and every outcome but a throttled one is kept.
pub async fn submit_form(pool: &PgPool, key: &str, post: FormSubmission) -> Result<SubmitOutcome, IntegrationError> {
    let form = sqlx::query!(
        "select id, key, source_id, product_id, allowed_origins, consent_version, success_url, per_ip_hourly, owner_id
         from web_forms where key = $1 and enabled",
        key
    )
    .fetch_optional(pool)
    .await?
    .ok_or(IntegrationError::NotFound)?;
    if let Some(origin) = &post.origin {
        // A plain HTML form's post carries its page's origin too; a form
        // that lists no sites takes posts from anywhere.
        if !form.allowed_origins.is_empty() && !form.allowed_origins.iter().any(|o| o == origin) {
            return Err(IntegrationError::Origin);
        }
    }
    let field = |k: &str| post.fields.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let ip = post.ip.map(IpNetwork::from);
    let utm: serde_json::Map<String, serde_json::Value> = UTM_KEYS
        .iter()
        .filter_map(|k| {
            let v = field(k);
            (!v.is_empty()).then(|| (k.to_string(), serde_json::Value::String(v.chars().take(50).collect())))
        })
        .collect();
    let page: String = Some(field("page"))
        .filter(|p| !p.is_empty())
        .or_else(|| post.referer.clone())
        .unwrap_or_default()
        .chars()
        .take(500)
        .collect();

    // The form's owner, and their right to create leads, are read before
    // the transaction: inside it nothing asks the pool for a second
    // connection.
    let owner = crate::accounts::actor_by_id(pool, form.owner_id)
        .await
        .map_err(|_| IntegrationError::Unavailable)?
        .filter(|a| a.active)
        .ok_or(IntegrationError::Unavailable)?;
    rbac::authorize(
        pool,
        &owner,
        rbac::Operation::Leads(rbac::LeadOp::Create),
        rbac::Target::Collection,
    )
    .await
    .map_err(|_| IntegrationError::Unavailable)?;

    let mut tx = pool.begin().await?;
    // One address's posts to one form are taken one at a time, so a burst
    // can't slip past the allowance; a post arriving while another from the
    // same address is being taken is told to retry in a second rather than
    // holding a connection while it waits.
    let turn = sqlx::query_scalar!(
        r#"select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as "turn!""#,
        format!(
            "web_form:{}:{}",
            form.id,
            post.ip.map(|i| i.to_string()).unwrap_or_default()
        )
    )
    .fetch_one(&mut *tx)
    .await?;
    if !turn {
        return Err(IntegrationError::Throttled { retry_after: 1 });
    }
    let recent = sqlx::query!(
        r#"select count(*) as "n!", min(created_at) as "oldest?: DateTime<Utc>" from web_form_submissions
           where form_id = $1 and ip is not distinct from $2 and created_at > now() - interval '1 hour'"#,
        form.id,
        ip
    )
    .fetch_one(&mut *tx)
    .await?;
    if recent.n >= i64::from(form.per_ip_hourly) {
        let retry_after = recent
            .oldest
            .map(|o| (o + chrono::Duration::hours(1) - Utc::now()).num_seconds().max(1) as u64)
            .unwrap_or(3600);
        return Err(IntegrationError::Throttled { retry_after });
    }
    let spam = !field(HONEYPOT_FIELD).is_empty();
    let (outcome, lead_id) = if spam {
        ("spam", None)
    } else {
        // In the parameters' own order: source, medium, campaign…
        let tags: Vec<String> = UTM_KEYS
            .iter()
            .filter_map(|k| {
                utm.get(*k)
                    .and_then(|v| v.as_str())
                    .map(|v| format!("{}:{v}", k.trim_start_matches("utm_")))
            })
            .collect();
        let mut comment = field("comment");
        if !page.is_empty() {
            if !comment.is_empty() {
                comment.push('\n');
            }
            comment.push_str(&format!("Заявка с сайта: {page}"));
        }
        let input = NewLead {
            client_name: field("name"),
            phone: field("phone"),
            email: field("email"),
            product_id: form.product_id,
            amount: field("amount"),
            source_id: form.source_id,
            comment,
            consent: matches!(
                field("consent").to_lowercase().as_str(),
                "on" | "true" | "1" | "yes" | "да"
            ),
            consent_text_version: Some(format!("form:{}:v{}", form.key, form.consent_version)),
            origin: "website".into(),
            tags,
            ..Default::default()
        };
        // Under a savepoint: a refusal keeps the transaction usable for the
        // record of it.
        let mut sp = sqlx::Connection::begin(&mut *tx).await?;
        let taken = take_lead(&mut sp, pool, &owner, input).await;
        match &taken {
            Ok(_) => sp.commit().await?,
            Err(_) => sp.rollback().await?,
        }
        match taken {
            Ok((outcome, id)) => (outcome, Some(id)),
            Err(LeadsError::Validation(fields)) => {
                let errors = serde_json::to_value(
                    fields
                        .iter()
                        .map(|f| (f.field.clone(), f.message.clone()))
                        .collect::<BTreeMap<_, _>>(),
                )
                .ok();
                sqlx::query!(
                    "insert into web_form_submissions (form_id, outcome, ip, utm, page_url, consent_version, errors)
                     values ($1, 'refused', $2, $3, $4, $5, $6)",
                    form.id,
                    ip,
                    serde_json::Value::Object(utm),
                    page,
                    form.consent_version,
                    errors
                )
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                return Err(IntegrationError::Validation(fields));
            }
            Err(LeadsError::Rbac(_)) => return Err(IntegrationError::Unavailable),
            Err(e) => return Err(IntegrationError::Leads(e)),
        }
    };
    sqlx::query!(
        "insert into web_form_submissions (form_id, lead_id, outcome, ip, utm, page_url, consent_version)
         values ($1, $2, $3, $4, $5, $6, $7)",
        form.id,
        lead_id,
        outcome,
        ip,
        serde_json::Value::Object(utm),
        page,
        form.consent_version
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(SubmitOutcome {
        success_url: form.success_url,
        spam,
    })
}

/// The lead of a submission: a known client's request joins their card
/// (as the bot does), anything else is a new client's.
async fn take_lead(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    pool: &PgPool,
    owner: &Actor,
    mut input: NewLead,
) -> Result<(&'static str, Uuid), LeadsError> {
    for _ in 0..2 {
        match crate::leads::create_lead_in(tx, pool, owner, input.clone()).await? {
            CreateOutcome::Created { id, .. } if input.attach_to_client.is_some() => return Ok(("attached", id)),
            CreateOutcome::Created { id, .. } => return Ok(("created", id)),
            CreateOutcome::SentForReview { id, .. } => return Ok(("review", id)),
            CreateOutcome::Duplicates(m) => input.attach_to_client = m.first().map(|m| m.client_id),
        }
    }
    Err(LeadsError::Validation(vec![FieldError::new(
        "phone",
        "Не удалось принять заявку, попробуйте ещё раз",
    )]))
}

fn validate(mut input: FormInput) -> Result<FormInput, IntegrationError> {
    let mut errors = vec![];
    input.name = input.name.trim().to_string();
    if input.name.is_empty() {
        errors.push(FieldError::new("name", "Укажите название формы"));
    } else if let Err(m) = crate::types::check_text(&input.name, 100) {
        errors.push(FieldError::new("name", &m));
    }
    input.consent_text = input.consent_text.trim().to_string();
    if input.consent_text.is_empty() {
        errors.push(FieldError::new(
            "consent_text",
            "Укажите текст согласия на обработку персональных данных",
        ));
    } else if let Err(m) = crate::types::check_text(&input.consent_text, 5000) {
        errors.push(FieldError::new("consent_text", &m));
    }
    let mut origins = vec![];
    for o in input.allowed_origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        match origin_of(o) {
            Some(o) if !origins.contains(&o) => origins.push(o),
            Some(_) => {}
            None => errors.push(FieldError::new(
                "allowed_origins",
                &format!("«{o}» — не адрес сайта: нужен вид https://example.ru"),
            )),
        }
    }
    if origins.len() > MAX_ORIGINS {
        errors.push(FieldError::new(
            "allowed_origins",
            &format!("Не больше {MAX_ORIGINS} сайтов"),
        ));
    }
    input.allowed_origins = origins;
    input.success_url = input.success_url.trim().to_string();
    if !input.success_url.is_empty()
        && !url::Url::parse(&input.success_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
    {
        errors.push(FieldError::new(
            "success_url",
            "Нужен полный адрес страницы: https://example.ru/spasibo",
        ));
    }
    if !(1..=10_000).contains(&input.per_ip_hourly) {
        errors.push(FieldError::new("per_ip_hourly", "От 1 до 10 000 заявок в час"));
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(IntegrationError::Validation(errors))
    }
}

/// "https://Example.ru/" → "https://example.ru"; a path, a query or another
/// scheme is not an origin.
fn origin_of(s: &str) -> Option<String> {
    let u = url::Url::parse(s).ok()?;
    if !matches!(u.scheme(), "http" | "https")
        || !u.has_host()
        || u.path() != "/"
        || u.query().is_some()
        || u.fragment().is_some()
        || !u.username().is_empty()
    {
        return None;
    }
    Some(u.origin().ascii_serialization())
}

fn dictionary_error(e: sqlx::Error) -> IntegrationError {
    match crate::constraint_name(&e) {
        Some(c) if c.contains("source_id") => IntegrationError::field("source_id", "Неизвестный источник"),
        Some(c) if c.contains("product_id") => IntegrationError::field("product_id", "Неизвестный продукт"),
        _ => IntegrationError::Db(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_sites_without_paths() {
        assert_eq!(origin_of("https://Example.ru/").as_deref(), Some("https://example.ru"));
        assert_eq!(
            origin_of("http://localhost:8080").as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(origin_of("https://example.ru/form"), None);
        assert_eq!(origin_of("ftp://example.ru"), None);
        assert_eq!(origin_of("example.ru"), None);
        assert_eq!(origin_of("https://example.ru/?a=1"), None);
    }

    #[test]
    fn a_form_needs_a_name_and_a_consent_text() {
        let Err(IntegrationError::Validation(f)) = validate(FormInput {
            per_ip_hourly: 0,
            allowed_origins: vec!["сайт".into(), " ".into()],
            success_url: "/spasibo".into(),
            ..Default::default()
        }) else {
            panic!("refused")
        };
        let names: Vec<&str> = f.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            names,
            [
                "name",
                "consent_text",
                "allowed_origins",
                "success_url",
                "per_ip_hourly"
            ]
        );
        let ok = validate(FormInput {
            name: " Ипотека ".into(),
            consent_text: "Согласен".into(),
            allowed_origins: vec!["https://a.ru/".into(), "https://a.ru".into()],
            per_ip_hourly: 5,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.name, "Ипотека");
        assert_eq!(ok.allowed_origins, ["https://a.ru"]);
    }
}
