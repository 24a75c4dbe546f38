//! Server functions of the outreach pages: thin, the actor from the
//! session, one domain call each, errors mapped to Russian.

use leptos::prelude::*;

use super::model::*;
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use domain::outreach as o;

    pub fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
        t.map(domain::time::datetime).unwrap_or_default()
    }

    pub fn choices(list: Vec<(domain::Uuid, String)>) -> Vec<Choice> {
        list.into_iter()
            .map(|(id, name)| Choice {
                id: id.to_string(),
                name,
            })
            .collect()
    }

    pub fn account(a: o::roster::AccountRow) -> AccountWire {
        let waits = a
            .waits_until
            .or(a.limited_until.filter(|_| a.status == "limited"))
            .map(domain::time::datetime_seconds)
            .unwrap_or_default();
        AccountWire {
            id: a.id.to_string(),
            phone: a.phone,
            title: a.title,
            username: a.username,
            status: a.status,
            sent_today: a.sent_today,
            daily_cap: a.daily_cap,
            min_delay_s: a.min_delay_s,
            work_from: a.work_from,
            work_to: a.work_to,
            last_sent_at: when(a.last_sent_at),
            waits,
            last_error: a.last_error,
            campaigns: a.campaigns,
        }
    }

    pub fn account_choices(list: &[o::roster::AccountRow]) -> Vec<Choice> {
        list.iter()
            .map(|a| Choice {
                id: a.id.to_string(),
                name: if a.title.is_empty() {
                    a.phone.clone()
                } else {
                    format!("{} ({})", a.title, a.phone)
                },
            })
            .collect()
    }

    pub fn row(r: o::campaigns::CampaignRow) -> CampaignRowWire {
        CampaignRowWire {
            id: r.id.to_string(),
            name: r.name,
            status: r.status,
            manager: r.manager,
            daily_cap: r.daily_cap,
            sent_today: r.sent_today,
            targets: r.targets,
            contacted: r.contacted,
            replied: r.replied,
            interested: r.interested,
            leads: r.leads,
            failed: r.failed,
            accounts: r.accounts,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn form(
        name: String,
        first_message: String,
        personalize: Option<String>,
        prompt: String,
        stop_words: String,
        daily_cap: String,
        manager_id: String,
        accounts: String,
    ) -> Result<o::campaigns::CampaignForm, AppError> {
        let manager_id = match manager_id.trim() {
            "" => None,
            s => Some(crate::session::parse_id(s)?),
        };
        let account_ids = accounts
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| crate::session::parse_id(s.trim()))
            .collect::<Result<_, _>>()?;
        Ok(o::campaigns::CampaignForm {
            name,
            first_message,
            personalize: personalize.is_some(),
            prompt,
            stop_words,
            daily_cap,
            manager_id,
            account_ids,
        })
    }

    pub fn added(a: o::targets::TargetsAdded) -> TargetsAddedWire {
        TargetsAddedWire {
            added: a.added,
            repeated: a.repeated,
            opted_out: a.opted_out,
            bad: a.bad,
            bad_lines: a
                .bad_lines
                .into_iter()
                .map(|b| BadLineWire {
                    line: b.line,
                    value: b.value,
                    reason: b.reason,
                })
                .collect(),
        }
    }

    pub fn dialog_row(r: o::inbox::DialogRow) -> DialogRowWire {
        DialogRowWire {
            id: r.id,
            campaign: r.campaign,
            handle: r.handle,
            name: r.name,
            status: r.status,
            reason: r.reason,
            account: r.account,
            messages: r.messages,
            last_text: r.last_text,
            last_at: when(r.last_at),
            lead_number: r.lead_number,
        }
    }
}

#[cfg(feature = "ssr")]
use convert::*;

#[server]
pub async fn outreach_accounts() -> Result<AccountsWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let pool = crate::session::services()?.pool;
    let list = domain::outreach::roster::accounts(&pool, &actor).await?;
    let can_manage = domain::rbac::authorize(
        &pool,
        &actor,
        domain::rbac::Operation::Outreach(domain::rbac::OutreachOp::Manage),
        domain::rbac::Target::Collection,
    )
    .await
    .is_ok();
    Ok(AccountsWire {
        accounts: list.into_iter().map(account).collect(),
        can_manage,
    })
}

/// One step of an account's login: `step` is `phone`, `code` or `password`.
#[server]
pub async fn outreach_login(phone: String, step: String, value: String) -> Result<LoginWire, AppError> {
    use domain::outreach::{roster::LoginInput, Login};
    let actor = crate::session::require_actor().await?;
    let step = match step.as_str() {
        "phone" => LoginInput::Phone,
        "code" => LoginInput::Code,
        "password" => LoginInput::Password,
        _ => return Err(AppError::new("validation", "Неизвестный шаг входа").with_status()),
    };
    let out = crate::session::services()?
        .outreach
        .login_step(&actor, &phone, step, &value)
        .await?;
    Ok(match out {
        Login::WaitingCode => LoginWire {
            next: "code".into(),
            hint: String::new(),
        },
        Login::WaitingPassword { hint } => LoginWire {
            next: "password".into(),
            hint,
        },
        Login::Active { .. } => LoginWire {
            next: "active".into(),
            hint: String::new(),
        },
    })
}

#[server]
pub async fn save_outreach_account(
    id: String,
    title: String,
    daily_cap: String,
    min_delay_s: String,
    work_from: String,
    work_to: String,
) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let pool = crate::session::services()?.pool;
    let form = domain::outreach::roster::AccountForm {
        title,
        daily_cap,
        min_delay_s,
        work_from,
        work_to,
    };
    domain::outreach::roster::set_account(&pool, &actor, crate::session::parse_id(&id)?, form).await?;
    Ok(())
}

/// `pause`, `resume` or `disable`.
#[server]
pub async fn outreach_account_status(id: String, action: String) -> Result<(), AppError> {
    use domain::outreach::roster::AccountAction;
    let actor = crate::session::require_actor().await?;
    let pool = crate::session::services()?.pool;
    let action = match action.as_str() {
        "pause" => AccountAction::Pause,
        "resume" => AccountAction::Resume,
        "disable" => AccountAction::Disable,
        _ => return Err(AppError::new("validation", "Неизвестное действие").with_status()),
    };
    domain::outreach::roster::set_account_status(&pool, &actor, crate::session::parse_id(&id)?, action).await?;
    Ok(())
}

#[server]
pub async fn outreach_campaigns() -> Result<CampaignsWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let pool = crate::session::services()?.pool;
    let campaigns = domain::outreach::campaigns::campaigns(&pool, &actor).await?;
    let accounts = domain::outreach::roster::accounts(&pool, &actor).await?;
    let can_manage = domain::rbac::authorize(
        &pool,
        &actor,
        domain::rbac::Operation::Outreach(domain::rbac::OutreachOp::Manage),
        domain::rbac::Target::Collection,
    )
    .await
    .is_ok();
    Ok(CampaignsWire {
        campaigns: campaigns.into_iter().map(row).collect(),
        can_manage,
        managers: choices(domain::outreach::campaigns::managers(&pool, &actor).await?),
        accounts: account_choices(&accounts),
    })
}

/// Creates a campaign; `accounts` is a comma-separated list of ids,
/// `personalize` the checkbox (absent when unticked).
#[allow(clippy::too_many_arguments)]
#[server]
pub async fn create_outreach_campaign(
    name: String,
    first_message: String,
    personalize: Option<String>,
    prompt: String,
    stop_words: String,
    daily_cap: String,
    manager_id: String,
    accounts: String,
) -> Result<String, AppError> {
    let actor = crate::session::require_actor().await?;
    let pool = crate::session::services()?.pool;
    let f = form(
        name,
        first_message,
        personalize,
        prompt,
        stop_words,
        daily_cap,
        manager_id,
        accounts,
    )?;
    let id = domain::outreach::campaigns::create_campaign(&pool, &actor, f).await?;
    Ok(id.to_string())
}

#[allow(clippy::too_many_arguments)]
#[server]
pub async fn update_outreach_campaign(
    id: String,
    name: String,
    first_message: String,
    personalize: Option<String>,
    prompt: String,
    stop_words: String,
    daily_cap: String,
    manager_id: String,
    accounts: String,
) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let pool = crate::session::services()?.pool;
    let f = form(
        name,
        first_message,
        personalize,
        prompt,
        stop_words,
        daily_cap,
        manager_id,
        accounts,
    )?;
    domain::outreach::campaigns::update_campaign(&pool, &actor, crate::session::parse_id(&id)?, f).await?;
    Ok(())
}

#[server]
pub async fn outreach_campaign(id: String) -> Result<CampaignWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let pool = crate::session::services()?.pool;
    let c = domain::outreach::campaigns::campaign(&pool, &actor, crate::session::parse_id(&id)?).await?;
    let accounts = domain::outreach::roster::accounts(&pool, &actor).await?;
    Ok(CampaignWire {
        row: row(c.row),
        form: CampaignFormWire {
            name: c.form.name,
            first_message: c.form.first_message,
            personalize: c.form.personalize,
            prompt: c.form.prompt,
            stop_words: c.form.stop_words,
            daily_cap: c.form.daily_cap,
            manager_id: c.form.manager_id.map(|m| m.to_string()).unwrap_or_default(),
            account_ids: c.form.account_ids.iter().map(|a| a.to_string()).collect(),
        },
        days: c
            .days
            .into_iter()
            .map(|d| DayWire {
                label: d.day.format("%d.%m").to_string(),
                contacted: d.contacted,
                replies: d.replies,
                interested: d.interested,
            })
            .collect(),
        can_manage: c.can_manage,
        managers: choices(domain::outreach::campaigns::managers(&pool, &actor).await?),
        accounts: account_choices(&accounts),
    })
}

/// `start`, `pause` or `finish`.
#[server]
pub async fn outreach_campaign_status(id: String, action: String) -> Result<(), AppError> {
    use domain::outreach::campaigns::CampaignAction;
    let actor = crate::session::require_actor().await?;
    let pool = crate::session::services()?.pool;
    let action = match action.as_str() {
        "start" => CampaignAction::Start,
        "pause" => CampaignAction::Pause,
        "finish" => CampaignAction::Finish,
        _ => return Err(AppError::new("validation", "Неизвестное действие").with_status()),
    };
    domain::outreach::campaigns::set_campaign_status(&pool, &actor, crate::session::parse_id(&id)?, action).await?;
    Ok(())
}

/// Targets pasted into the box, or CRM clients by the lead list's filter
/// (`how`: `paste` or `clients`).
#[server]
pub async fn add_outreach_targets(id: String, how: String, text: String) -> Result<TargetsAddedWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let pool = crate::session::services()?.pool;
    let campaign = crate::session::parse_id(&id)?;
    let out = match how.as_str() {
        "clients" => domain::outreach::targets::add_clients(&pool, &actor, campaign, &text).await?,
        _ => domain::outreach::targets::add_pasted(&pool, &actor, campaign, &text).await?,
    };
    Ok(added(out))
}

/// Targets from a CSV or XLSX (multipart: `campaign_id`, `file`).
#[server(input = server_fn::codec::MultipartFormData)]
pub async fn upload_outreach_targets(data: server_fn::codec::MultipartData) -> Result<TargetsAddedWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let (fields, file) = crate::session::read_upload(data, 20 * 1024 * 1024, "Файл больше 20 МБ").await?;
    let (name, _, bytes) = file.ok_or_else(|| AppError::new("validation", "Выберите файл").with_status())?;
    let campaign = crate::session::parse_id(fields.get("campaign_id").map(String::as_str).unwrap_or(""))?;
    let pool = crate::session::services()?.pool;
    Ok(added(
        domain::outreach::targets::add_file(&pool, &actor, campaign, &name, &bytes).await?,
    ))
}

#[server]
pub async fn outreach_dialogs(
    campaign: String,
    status: String,
    query: String,
    page: i64,
) -> Result<DialogPageWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let pool = crate::session::services()?.pool;
    let campaign_id = match campaign.trim() {
        "" => None,
        s => Some(crate::session::parse_id(s)?),
    };
    let p = domain::outreach::inbox::dialogs(
        &pool,
        &actor,
        domain::outreach::inbox::DialogFilter {
            campaign_id,
            status,
            query,
            page,
        },
    )
    .await?;
    Ok(DialogPageWire {
        rows: p.rows.into_iter().map(dialog_row).collect(),
        total: p.total,
        page: p.page,
        per_page: domain::outreach::inbox::PER_PAGE,
    })
}

#[server]
pub async fn outreach_dialog(id: i64) -> Result<DialogWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let pool = crate::session::services()?.pool;
    let d = domain::outreach::inbox::dialog(&pool, &actor, id).await?;
    Ok(DialogWire {
        row: dialog_row(d.row),
        messages: d
            .messages
            .into_iter()
            .map(|m| MessageWire {
                incoming: m.direction == "in",
                text: m.text,
                at: domain::time::datetime(m.at),
                author: m.author,
            })
            .collect(),
        can_send: d.can_send,
        can_export: d.can_export,
    })
}

/// The manager writes in the dialog as its account.
#[server]
pub async fn write_outreach(id: i64, text: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    crate::session::services()?.outreach.write(&actor, id, &text).await?;
    Ok(())
}

/// The manager takes the dialog over from the AI.
#[server]
pub async fn take_outreach_dialog(id: i64) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let pool = crate::session::services()?.pool;
    domain::outreach::inbox::take_over(&pool, &actor, id).await?;
    Ok(())
}

/// Stops a dialog: nothing more is written to the person automatically.
#[server]
pub async fn stop_outreach_dialog(id: i64) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let pool = crate::session::services()?.pool;
    domain::outreach::inbox::stop_dialog(&pool, &actor, id).await?;
    Ok(())
}

/// Reads the dialog back from Telegram: what our record lacked is added.
#[server]
pub async fn sync_outreach_dialog(id: i64) -> Result<SyncedWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let s = crate::session::services()?.outreach.sync_dialog(&actor, id).await?;
    Ok(SyncedWire {
        incoming: s.incoming,
        outgoing: s.outgoing,
    })
}
