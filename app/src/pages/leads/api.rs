//! Server functions for leads, the board and tasks.

use leptos::prelude::*;

use crate::error::AppError;
use crate::pages::leads::model::{
    BoardView, ClientView, CreateLeadResult, LeadCardView, LeadFormOptions, LeadPage, TaskView,
};
#[cfg(feature = "ssr")]
use crate::pages::leads::model::{Choice, PipelineChoice, StageChoice};

#[cfg(feature = "ssr")]
use crate::session::{require_actor, services};

#[cfg(feature = "ssr")]
mod conv {
    use crate::error::AppError;
    use crate::pages::leads::model::{FieldValue, LeadRow};

    pub fn row(l: domain::leads::LeadSummary) -> LeadRow {
        row_with(l, &[])
    }

    /// A row with its extra field values read as text.
    pub fn row_with(l: domain::leads::LeadSummary, fields: &[domain::leads::CustomField]) -> LeadRow {
        let extra = fields
            .iter()
            .filter_map(|f| {
                l.extra.get(&f.key).map(|v| FieldValue {
                    key: f.key.clone(),
                    value: domain::leads::display_value(f.kind, v),
                })
            })
            .collect();
        LeadRow {
            id: l.id.to_string(),
            number: l.number,
            client_id: l.client_id.to_string(),
            client_name: l.client_name,
            phone: l.phone.as_deref().map(domain::types::format_phone).unwrap_or_default(),
            email: l.email.unwrap_or_default(),
            product: l.product.unwrap_or_default(),
            amount: l.amount.map(|m| m.format()).unwrap_or_default(),
            source: l.source.unwrap_or_default(),
            status: l.status.unwrap_or_default(),
            stage_id: l.stage_id.map(|s| s.to_string()).unwrap_or_default(),
            stage_name: l.stage_name.unwrap_or_else(|| {
                if l.unsorted {
                    "Неразобранное".into()
                } else {
                    String::new()
                }
            }),
            stage_color: l.stage_color.unwrap_or_else(|| "#6b7385".into()),
            unsorted: l.unsorted,
            responsible: l.responsible_name.unwrap_or_default(),
            partner: l.partner_name.unwrap_or_default(),
            method: l.method.unwrap_or_default(),
            tags: l.tags.join(", "),
            created_at: domain::time::datetime(l.created_at),
            updated_at: domain::time::datetime(l.updated_at),
            extra,
        }
    }

    pub fn id(s: &str, field: &str) -> Result<Option<uuid::Uuid>, AppError> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        s.trim().parse().map(Some).map_err(|_| AppError {
            code: "validation".into(),
            message: "Некорректное значение".into(),
            fields: vec![(field.into(), "Некорректное значение".into())],
        })
    }
}

/// A page of the list for a query string (`q=…&stage_id=…&sort=…`, the
/// same one the export link and saved views carry).
#[server]
pub async fn list_leads(query: String, page: i64) -> Result<LeadPage, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let mut filter = domain::leads::LeadFilter::from_query(&query)?;
    filter.page = page;
    filter.per_page = 50;
    let fields = domain::leads::custom_fields(&services.pool).await?;
    let cap = domain::leads::count_cap(&filter);
    let p = domain::leads::list_leads(&services.pool, &actor, filter).await?;
    Ok(LeadPage {
        items: p.items.into_iter().map(|l| conv::row_with(l, &fields)).collect(),
        capped_at: (p.total > cap).then_some(cap),
        total: p.total,
        page: p.page,
        per_page: p.per_page,
    })
}

/// The list's rows among `ids` as the list with `query` shows them now (an
/// id left out has left the list): how an open list patches its rows.
#[server]
pub async fn lead_rows(query: String, ids: Vec<String>) -> Result<Vec<crate::pages::leads::model::LeadRow>, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let filter = domain::leads::LeadFilter::from_query(&query)?;
    let ids: Vec<uuid::Uuid> = ids.iter().take(200).filter_map(|i| i.parse().ok()).collect();
    let fields = domain::leads::custom_fields(&services.pool).await?;
    Ok(domain::leads::list_rows(&services.pool, &actor, &filter, &ids)
        .await?
        .into_iter()
        .map(|l| conv::row_with(l, &fields))
        .collect())
}

#[server]
pub async fn lead_options() -> Result<LeadFormOptions, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    domain::leads::may_see_lead_settings(&services.pool, &actor).await?;
    let d = domain::leads::dictionaries(&services.pool).await?;
    let pipes = domain::leads::pipelines(&services.pool).await?;
    let fields = domain::leads::custom_fields(&services.pool).await?;
    let (staff, partners) = domain::leads::people_options(&services.pool, &actor).await?;
    let items = |v: Vec<domain::leads::DictItem>| {
        v.into_iter()
            .map(|i| Choice {
                id: i.id.to_string(),
                label: i.name,
            })
            .collect()
    };
    Ok(LeadFormOptions {
        products: items(d.products),
        sources: items(d.sources),
        methods: items(d.methods),
        statuses: items(d.statuses),
        loss_reasons: items(d.loss_reasons),
        fields: fields
            .into_iter()
            .filter(|f| f.active)
            .map(crate::pages::leads::model::FieldDef::from)
            .collect(),
        staff: items(staff),
        partners: items(partners),
        pipelines: pipes
            .into_iter()
            .map(|p| PipelineChoice {
                id: p.id.to_string(),
                name: p.name,
                stages: p
                    .stages
                    .into_iter()
                    .map(|s| StageChoice {
                        id: s.id.to_string(),
                        name: s.name,
                        kind: s.kind,
                    })
                    .collect(),
            })
            .collect(),
    })
}

#[allow(clippy::too_many_arguments)]
#[server]
pub async fn create_lead(
    client_name: String,
    phone: String,
    email: String,
    product_id: String,
    amount: String,
    comment: String,
    consent: Option<String>,
    attach_to_client: Option<String>,
    create_anyway: Option<String>,
    extra: Option<std::collections::BTreeMap<String, String>>,
) -> Result<CreateLeadResult, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let origin = if actor.role == domain::types::Role::Partner {
        "partner"
    } else {
        "form"
    };
    let out = domain::leads::create_lead(
        &services.pool,
        &actor,
        domain::leads::NewLead {
            client_name,
            phone,
            email,
            product_id: conv::id(&product_id, "product_id")?,
            amount,
            source_id: None,
            comment,
            stage_id: None,
            attach_to_client: conv::id(attach_to_client.as_deref().unwrap_or(""), "attach_to_client")?,
            create_anyway: create_anyway.is_some(),
            consent: consent.is_some(),
            origin: origin.into(),
            extra: extra.unwrap_or_default(),
            ..Default::default()
        },
    )
    .await?;
    Ok(match out {
        domain::leads::CreateOutcome::Created { number, .. } => CreateLeadResult::Created { number },
        domain::leads::CreateOutcome::SentForReview { number, .. } => CreateLeadResult::SentForReview { number },
        domain::leads::CreateOutcome::Duplicates(m) => CreateLeadResult::Duplicates(
            m.into_iter()
                .map(|m| crate::pages::leads::model::ClientMatchView {
                    client_id: m.client_id.to_string(),
                    full_name: m.full_name.unwrap_or_default(),
                    matched_on: m.matched_on,
                    lead_numbers: m.lead_numbers,
                })
                .collect(),
        ),
    })
}

#[server]
pub async fn get_lead_card(number: i64) -> Result<LeadCardView, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let c = domain::leads::get_lead(&services.pool, &actor, number).await?;
    let fields = domain::leads::custom_fields(&services.pool).await?;
    let s = |v: Option<uuid::Uuid>| v.map(|p| p.to_string()).unwrap_or_default();
    let extra_raw = fields
        .iter()
        .filter_map(|f| {
            let v = c.lead.extra.get(&f.key)?;
            let raw = match (f.kind, v) {
                (domain::leads::FieldKind::Date, serde_json::Value::String(d)) => d.clone(),
                _ => domain::leads::display_value(f.kind, v),
            };
            Some(crate::pages::leads::model::FieldValue {
                key: f.key.clone(),
                value: raw,
            })
        })
        .collect();
    Ok(LeadCardView {
        product_id: s(c.product_id),
        source_id: s(c.source_id),
        method_id: s(c.method_id),
        status_id: s(c.status_id),
        loss_reason_id: s(c.loss_reason_id),
        responsible_id: s(c.responsible_id),
        extra_raw,
        amount_raw: c.lead.amount.map(domain::types::Money::to_input).unwrap_or_default(),
        lead: conv::row_with(c.lead, &fields),
        may_edit: c.may_edit,
        internal: c.internal,
        may_delete: c.may_delete,
        comment: c.comment,
        phones: c.phones.iter().map(|p| domain::types::format_phone(p)).collect(),
        emails: c.emails,
        consent: match (c.consent_at, c.consent_method, c.consent_text_version) {
            (Some(at), m, v) => format!(
                "{} · {} · версия текста {}",
                domain::time::datetime(at),
                m.unwrap_or_default(),
                v.unwrap_or_default()
            ),
            _ => "нет".into(),
        },
        timeline: c
            .timeline
            .into_iter()
            .map(|t| crate::pages::leads::model::TimelineView {
                at: domain::time::datetime(t.at),
                author: t.author.unwrap_or_else(|| "система".into()),
                kind: t.kind,
                text: t.text,
                link: t.link.unwrap_or_default(),
            })
            .collect(),
    })
}

/// Saves the card's form. Selects and text fields always come with the
/// form; the responsible select only when the viewer may assign people.
#[allow(clippy::too_many_arguments)]
#[server]
pub async fn update_lead(
    lead_id: String,
    product_id: String,
    source_id: String,
    method_id: String,
    status_id: String,
    loss_reason_id: String,
    responsible_id: Option<String>,
    amount: String,
    comment: String,
    tags: String,
    extra: Option<std::collections::BTreeMap<String, String>>,
) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let id = conv::id(&lead_id, "lead_id")?.ok_or_else(|| AppError::new("validation", "Нет лида").with_status())?;
    domain::leads::update_lead(
        &services.pool,
        &actor,
        id,
        domain::leads::LeadUpdate {
            product_id: Some(conv::id(&product_id, "product_id")?),
            source_id: Some(conv::id(&source_id, "source_id")?),
            method_id: Some(conv::id(&method_id, "method_id")?),
            status_id: Some(conv::id(&status_id, "status_id")?),
            loss_reason_id: Some(conv::id(&loss_reason_id, "loss_reason_id")?),
            responsible_id: match responsible_id {
                Some(r) => Some(conv::id(&r, "responsible_id")?),
                None => None,
            },
            amount: Some(amount),
            comment: Some(comment),
            tags: Some(tags.split(',').map(str::to_string).collect()),
            extra: Some(extra.unwrap_or_default()),
        },
    )
    .await?;
    Ok(())
}

/// The viewer's saved views and the shared ones.
#[server]
pub async fn list_views() -> Result<Vec<crate::pages::leads::model::ViewDef>, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    Ok(domain::leads::list_views(&services.pool, &actor)
        .await?
        .into_iter()
        .map(|v| crate::pages::leads::model::ViewDef {
            id: v.id.to_string(),
            name: v.name,
            query: v.query,
            columns: v.columns,
            shared: v.shared,
            owner: v.owner_name,
            mine: v.mine,
        })
        .collect())
}

/// Saves the list's current query and columns under a name.
#[server]
pub async fn save_view(
    name: String,
    query: String,
    columns: String,
    shared: Option<String>,
) -> Result<String, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let id = domain::leads::save_view(
        &services.pool,
        &actor,
        domain::leads::ViewInput {
            name,
            query,
            columns: columns
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            shared: shared.is_some(),
        },
    )
    .await?;
    Ok(id.to_string())
}

#[server]
pub async fn delete_view(id: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let id = conv::id(&id, "id")?.ok_or_else(|| AppError::new("validation", "Нет вида").with_status())?;
    domain::leads::delete_view(&services.pool, &actor, id).await?;
    Ok(())
}

#[server]
pub async fn move_lead(lead_id: String, stage_id: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let lead = conv::id(&lead_id, "lead_id")?.ok_or_else(|| AppError::new("validation", "Нет лида").with_status())?;
    let stage =
        conv::id(&stage_id, "stage_id")?.ok_or_else(|| AppError::new("validation", "Нет этапа").with_status())?;
    domain::leads::move_lead_to_stage(&services.pool, &actor, lead, stage).await?;
    Ok(())
}

/// Deletes the lead from its card (leads:delete); returns to the list.
#[server]
pub async fn delete_lead(lead_id: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let lead = conv::id(&lead_id, "lead_id")?.ok_or_else(|| AppError::new("validation", "Нет лида").with_status())?;
    domain::leads::delete_lead(&services.pool, &actor, lead).await?;
    Ok(())
}

/// The card's stage control: a lost stage needs the loss reason.
#[server]
pub async fn move_lead_from_card(lead_id: String, stage_id: String, loss_reason_id: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let lead = conv::id(&lead_id, "lead_id")?.ok_or_else(|| AppError::new("validation", "Нет лида").with_status())?;
    let stage = conv::id(&stage_id, "stage_id")?.ok_or_else(|| AppError {
        code: "validation".into(),
        message: "Выберите этап".into(),
        fields: vec![("stage_id".into(), "Выберите этап".into())],
    })?;
    let reason = conv::id(&loss_reason_id, "loss_reason_id")?;
    domain::leads::move_lead_with_reason(&services.pool, &actor, lead, stage, reason).await?;
    Ok(())
}

#[server]
pub async fn add_lead_comment(lead_id: String, body: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let lead = conv::id(&lead_id, "lead_id")?.ok_or_else(|| AppError::new("validation", "Нет лида").with_status())?;
    domain::leads::add_comment(&services.pool, &actor, lead, &body).await?;
    Ok(())
}

/// Cards a board column shows at first, and at most (past that, the
/// column links to the list filtered by its stage).
pub const BOARD_PAGE: i64 = 50;
pub const BOARD_MAX: i64 = 200;

#[server]
pub async fn get_board(pipeline_id: String, per_column: i64) -> Result<BoardView, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let per_column = per_column.clamp(BOARD_PAGE, BOARD_MAX);
    let b = domain::leads::board(
        &services.pool,
        &actor,
        conv::id(&pipeline_id, "pipeline_id")?,
        per_column,
    )
    .await?;
    Ok(BoardView {
        pipeline_id: b.pipeline.id.to_string(),
        pipeline_name: b.pipeline.name,
        columns: b
            .columns
            .into_iter()
            .map(|c| crate::pages::leads::model::BoardColumnView {
                stage_id: c.stage.as_ref().map(|s| s.id.to_string()).unwrap_or_default(),
                name: c
                    .stage
                    .as_ref()
                    .map(|s| s.name.clone())
                    .unwrap_or_else(|| "Неразобранное".into()),
                color: c
                    .stage
                    .as_ref()
                    .map(|s| s.color.clone())
                    .unwrap_or_else(|| "#6b7385".into()),
                total: c.total,
                cards: c.cards.into_iter().map(conv::row).collect(),
            })
            .collect(),
    })
}

/// `due` is the company's local time from a datetime-local input (YYYY-MM-DDTHH:MM).
#[server]
pub async fn create_task(lead_id: String, text: String, due: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let lead = conv::id(&lead_id, "lead_id")?.ok_or_else(|| AppError::new("validation", "Нет лида").with_status())?;
    let bad_due = || AppError {
        code: "validation".into(),
        message: "Укажите срок".into(),
        fields: vec![("due".into(), "Укажите дату и время".into())],
    };
    let naive = chrono::NaiveDateTime::parse_from_str(due.trim(), "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(due.trim(), "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| bad_due())?;
    let due_at = domain::time::local_to_utc(naive);
    domain::tasks::create_task(&services.pool, &actor, lead, &text, due_at, None).await?;
    Ok(())
}

#[server]
pub async fn my_tasks() -> Result<Vec<TaskView>, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    Ok(domain::tasks::my_tasks(&services.pool, &actor)
        .await?
        .into_iter()
        .map(|t| TaskView {
            id: t.id.to_string(),
            text: t.text,
            due: domain::time::datetime(t.due_at),
            done: t.done,
            overdue: t.overdue,
            lead_number: t.lead_number,
        })
        .collect())
}

#[server]
pub async fn complete_task(id: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let id = conv::id(&id, "id")?.ok_or_else(|| AppError::new("validation", "Нет задачи").with_status())?;
    domain::tasks::complete_task(&services.pool, &actor, id).await?;
    Ok(())
}

#[server]
pub async fn get_client_card(id: String) -> Result<ClientView, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let id = conv::id(&id, "id")?.ok_or_else(|| AppError::new("not_found", "Клиент не найден").with_status())?;
    let c = domain::leads::get_client(&services.pool, &actor, id).await?;
    let duplicates = domain::leads::possible_duplicates(&services.pool, &actor, id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|d| crate::pages::leads::model::SimilarClient {
            id: d.id.to_string(),
            full_name: d.full_name,
            city: d.city.unwrap_or_default(),
            reason: d.reason,
        })
        .collect();
    Ok(ClientView {
        duplicates,
        id: c.id.to_string(),
        full_name: c.full_name,
        city: c.city.unwrap_or_default(),
        may_edit: c.may_edit,
        phones: c.phones.iter().map(|p| domain::types::format_phone(p)).collect(),
        emails: c.emails,
        leads: c
            .leads
            .into_iter()
            .map(|(number, stage)| crate::pages::leads::model::ClientLead {
                number,
                stage: stage.unwrap_or_else(|| "Неразобранное".into()),
            })
            .collect(),
    })
}

/// Saves the client page's contacts form (phones and emails one per line).
#[server]
pub async fn edit_client(
    id: String,
    full_name: String,
    city: String,
    phones: String,
    emails: String,
) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let id = conv::id(&id, "id")?.ok_or_else(|| AppError::new("not_found", "Клиент не найден").with_status())?;
    let lines = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
    domain::leads::edit_client(
        &services.pool,
        &actor,
        id,
        domain::leads::ClientContacts {
            full_name,
            city,
            phones: lines(&phones),
            emails: lines(&emails),
        },
    )
    .await?;
    Ok(())
}

/// Joins `other` into `main` with the chosen name and city; returns the main id.
#[server]
pub async fn merge_clients(main: String, other: String, full_name: String, city: String) -> Result<String, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let main_id = conv::id(&main, "main")?.ok_or_else(|| AppError::new("validation", "Нет клиента").with_status())?;
    let other_id =
        conv::id(&other, "other")?.ok_or_else(|| AppError::new("validation", "Нет клиента").with_status())?;
    domain::leads::merge_clients(
        &services.pool,
        &actor,
        domain::leads::MergeInput {
            main: main_id,
            other: other_id,
            full_name,
            city: Some(city),
        },
    )
    .await?;
    Ok(main)
}

/// Attaches an unsorted lead to the deal with `deal_number`; returns that number.
#[server]
pub async fn attach_to_deal(lead_id: String, deal_number: String) -> Result<i64, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let lead = conv::id(&lead_id, "lead_id")?.ok_or_else(|| AppError::new("validation", "Нет лида").with_status())?;
    let number: i64 = deal_number
        .trim()
        .trim_start_matches('№')
        .parse()
        .map_err(|_| AppError {
            code: "validation".into(),
            message: "Номер сделки — число".into(),
            fields: vec![("deal_number".into(), "Номер сделки — число".into())],
        })?;
    Ok(domain::leads::attach_to_deal(&services.pool, &actor, lead, number).await?)
}

/// The viewer's clients (the cabinets' list).
#[server]
pub async fn list_my_clients(query: String, page: i64) -> Result<crate::pages::leads::model::ClientPage, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let p = domain::leads::list_clients(&services.pool, &actor, &query, page).await?;
    Ok(crate::pages::leads::model::ClientPage {
        items: p
            .items
            .into_iter()
            .map(|c| crate::pages::leads::model::ClientRowView {
                id: c.id.to_string(),
                full_name: c.full_name,
                city: c.city.unwrap_or_default(),
                phone: c.phone.as_deref().map(domain::types::format_phone).unwrap_or_default(),
                email: c.email.unwrap_or_default(),
                leads: c.leads,
            })
            .collect(),
        total: p.total,
        page: p.page,
        per_page: p.per_page,
    })
}

/// The client's deals, history and numbers.
#[server]
pub async fn client_work(id: String) -> Result<crate::pages::leads::model::ClientWorkView, AppError> {
    use crate::pages::leads::model::{ClientDealRow, ClientEventRow, ClientWorkView};
    let actor = require_actor().await?;
    let services = services()?;
    let id = conv::id(&id, "id")?.ok_or_else(|| AppError::new("not_found", "Клиент не найден").with_status())?;
    let p = domain::leads::client_panel(&services.pool, &actor, id).await?;
    let day = |t: chrono::DateTime<chrono::Utc>| domain::time::local(t).format("%d.%m.%Y").to_string();
    Ok(ClientWorkView {
        deals: p
            .deals
            .into_iter()
            .map(|d| ClientDealRow {
                number: d.number,
                product: d.product.unwrap_or_default(),
                stage: d.stage.unwrap_or_else(|| "Неразобранное".into()),
                stage_kind: d.stage_kind,
                status: d.status.unwrap_or_default(),
                amount: d.amount.map(|m| m.format()).unwrap_or_default(),
                issued: d
                    .issued
                    .map(|(on, bank, m)| format!("{} · {bank} · {}", m.format(), on.format("%d.%m.%Y")))
                    .unwrap_or_default(),
                responsible: d.responsible.unwrap_or_default(),
                created: day(d.created_at),
            })
            .collect(),
        history: p
            .history
            .into_iter()
            .map(|e| ClientEventRow {
                at: domain::time::datetime(e.at),
                who: e.who.unwrap_or_default(),
                lead: e.lead,
                what: e.what,
            })
            .collect(),
        deals_count: p.stats.deals,
        open: p.stats.open,
        won: p.stats.won,
        lost: p.stats.lost,
        conversion: p
            .stats
            .conversion
            .map(|c| format!("{c} %"))
            .unwrap_or_else(|| "—".into()),
        requested: p.stats.requested.format(),
        issued: p.stats.issued.format(),
        since: p.stats.first_at.map(day).unwrap_or_default(),
    })
}
