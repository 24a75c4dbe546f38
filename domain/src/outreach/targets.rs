//! Whom a campaign writes to: usernames and phones pasted or uploaded as
//! CSV/XLSX, or CRM clients picked by the lead list's filter (only those
//! who gave consent and have a phone). A person is one target per campaign
//! (by handle here, by Telegram user id once resolved), and people who
//! asked not to be written to are left out.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::campaigns::authorize_campaign;
use super::transport::Handle;
use super::OutreachError;
use crate::leads::LeadFilter;
use crate::rbac::{self, Operation, OutreachOp, Target};
use crate::types::Scope;
use crate::{audit, Actor};

const MAX_BYTES: usize = 20 * 1024 * 1024;
const MAX_ROWS: usize = 100_000;
/// How many bad lines the report lists.
const REPORTED: usize = 200;

/// A line that could not be a target.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BadLine {
    /// 1-based, as the file or the box numbers it.
    pub line: usize,
    pub value: String,
    pub reason: String,
}

/// What adding targets did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TargetsAdded {
    pub added: usize,
    /// Already in this campaign.
    pub repeated: usize,
    /// Asked never to be written to.
    pub opted_out: usize,
    pub bad: usize,
    /// The first bad lines.
    pub bad_lines: Vec<BadLine>,
}

#[derive(Debug, Clone)]
struct NewTarget {
    handle: String,
    name: String,
    vars: Map<String, Value>,
    client_id: Option<Uuid>,
}

#[derive(Default)]
struct Batch {
    targets: Vec<NewTarget>,
    bad: usize,
    bad_lines: Vec<BadLine>,
}

impl Batch {
    fn bad(&mut self, line: usize, value: &str, reason: &str) {
        self.bad += 1;
        if self.bad_lines.len() < REPORTED {
            self.bad_lines.push(BadLine {
                line,
                value: value.chars().take(100).collect(),
                reason: reason.into(),
            });
        }
    }

    fn push(&mut self, line: usize, raw: &str, name: &str, vars: Map<String, Value>) {
        match Handle::parse(raw) {
            Some(h) => self.targets.push(NewTarget {
                handle: h.key(),
                name: name.trim().chars().take(200).collect(),
                vars,
                client_id: None,
            }),
            None => self.bad(line, raw, "Не похоже на @username, ссылку t.me или телефон +7"),
        }
    }
}

/// Targets typed or pasted into the box: one per line, a username, a t.me
/// link or a phone, optionally followed by a name after a comma, a
/// semicolon or a tab (outreach:edit).
pub async fn add_pasted(
    pool: &PgPool,
    actor: &Actor,
    campaign: Uuid,
    text: &str,
) -> Result<TargetsAdded, OutreachError> {
    authorize_campaign(pool, actor, OutreachOp::Manage, campaign).await?;
    let mut batch = Batch::default();
    for (i, line) in text.lines().enumerate().take(MAX_ROWS) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (handle, name) = match line.split_once([',', ';', '\t']) {
            Some((h, n)) => (h, n),
            None => (line, ""),
        };
        batch.push(i + 1, handle, name, Map::new());
    }
    if batch.targets.is_empty() && batch.bad == 0 {
        return Err(OutreachError::invalid(
            "targets",
            "Вставьте хотя бы один @username или телефон",
        ));
    }
    insert(pool, actor, campaign, batch, "paste").await
}

/// Targets from a CSV or XLSX with a header row: a column of usernames
/// (`username`, `telegram`, `логин`…) and/or phones (`телефон`, `phone`),
/// a name (`имя`, `name`), and any other columns, which become the first
/// message's variables (outreach:edit).
pub async fn add_file(
    pool: &PgPool,
    actor: &Actor,
    campaign: Uuid,
    file_name: &str,
    bytes: &[u8],
) -> Result<TargetsAdded, OutreachError> {
    authorize_campaign(pool, actor, OutreachOp::Manage, campaign).await?;
    let rows = crate::imports::table::read_table(file_name, bytes, MAX_BYTES, MAX_ROWS)
        .map_err(|m| OutreachError::invalid("file", &m))?;
    if rows.len() > MAX_ROWS {
        return Err(OutreachError::invalid("file", "Не больше 100 000 строк за раз"));
    }
    let Some((header, body)) = rows.split_first() else {
        return Err(OutreachError::invalid("file", "Файл пуст"));
    };
    let col = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.contains(&h.trim().to_lowercase().replace([' ', '-'], "_").as_str()))
    };
    let username = col(&[
        "username",
        "telegram",
        "telegram_username",
        "логин",
        "ник",
        "юзернейм",
        "tg",
    ]);
    let phone = col(&["phone", "телефон", "номер", "номер_телефона"]);
    let name = col(&["name", "имя", "фио", "first_name", "клиент"]);
    if username.is_none() && phone.is_none() {
        return Err(OutreachError::invalid(
            "file",
            "В первой строке нет столбца «username» или «телефон»",
        ));
    }
    let mut batch = Batch::default();
    for (i, row) in body.iter().enumerate() {
        let cell = |c: Option<usize>| c.and_then(|c| row.get(c)).map(|s| s.trim()).unwrap_or("");
        let raw = match cell(username) {
            "" => cell(phone),
            u => u,
        };
        if raw.is_empty() {
            if row.iter().any(|c| !c.trim().is_empty()) {
                batch.bad(i + 2, &row.join(", "), "Нет ни username, ни телефона");
            }
            continue;
        }
        let mut vars = Map::new();
        for (c, h) in header.iter().enumerate() {
            if Some(c) == username || Some(c) == phone || Some(c) == name {
                continue;
            }
            let key: String = h
                .trim()
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { '_' })
                .collect::<String>()
                .trim_matches('_')
                .to_lowercase();
            if !key.is_empty() {
                vars.insert(key, Value::String(row.get(c).cloned().unwrap_or_default()));
            }
        }
        batch.push(i + 2, raw, cell(name), vars);
    }
    insert(pool, actor, campaign, batch, "file").await
}

/// CRM clients of the leads the lead list shows the actor with `filter`
/// (its query string): each client once, only with consent given and a
/// phone; the lead on handoff joins that client's card (outreach:edit, and
/// the actor's own reach of the leads).
pub async fn add_clients(
    pool: &PgPool,
    actor: &Actor,
    campaign: Uuid,
    filter: &str,
) -> Result<TargetsAdded, OutreachError> {
    authorize_campaign(pool, actor, OutreachOp::Manage, campaign).await?;
    let f = LeadFilter::from_query(filter.trim_start_matches('?')).map_err(|e| match e {
        crate::leads::LeadsError::Validation(f) => OutreachError::Validation(f),
        crate::leads::LeadsError::Rbac(e) => OutreachError::Rbac(e),
        e => OutreachError::invalid("filter", &e.to_string()),
    })?;
    let leads = crate::leads::matching_ids(pool, actor, &f, MAX_ROWS as i64)
        .await
        .map_err(|e| match e {
            crate::leads::LeadsError::Rbac(e) => OutreachError::Rbac(e),
            crate::leads::LeadsError::Db(e) => OutreachError::Db(e),
            e => OutreachError::invalid("filter", &e.to_string()),
        })?;
    let clients = sqlx::query!(
        r#"select distinct on (c.id) c.id, c.full_name, p.phone as "phone?", c.consent_at is not null as "consent!"
           from leads l join clients c on c.id = l.client_id
           left join lateral (select phone from client_phones where client_id = c.id order by phone limit 1) p on true
           where l.id = any($1) and c.merged_into is null
           order by c.id"#,
        &leads
    )
    .fetch_all(pool)
    .await?;
    let mut batch = Batch::default();
    for (i, c) in clients.into_iter().enumerate() {
        let Some(phone) = c.phone else {
            batch.bad(i + 1, &c.full_name, "У клиента нет телефона");
            continue;
        };
        if !c.consent {
            batch.bad(i + 1, &c.full_name, "Клиент не давал согласия на обработку данных");
            continue;
        }
        batch.targets.push(NewTarget {
            handle: phone,
            name: c.full_name,
            vars: Map::new(),
            client_id: Some(c.id),
        });
    }
    if batch.targets.is_empty() && batch.bad == 0 {
        return Err(OutreachError::invalid("filter", "Под фильтр не попал ни один лид"));
    }
    insert(pool, actor, campaign, batch, "clients").await
}

async fn insert(
    pool: &PgPool,
    actor: &Actor,
    campaign: Uuid,
    batch: Batch,
    how: &str,
) -> Result<TargetsAdded, OutreachError> {
    let mut tx = pool.begin().await?;
    let status = sqlx::query_scalar!(
        "select status from outreach_campaigns where id = $1 for update",
        campaign
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(OutreachError::NotFound)?;
    if status == "finished" {
        return Err(OutreachError::invalid("targets", "Кампания завершена: создайте новую"));
    }
    let mut seen = std::collections::HashSet::new();
    let mut handles = vec![];
    let mut names = vec![];
    let mut vars = vec![];
    let mut clients = vec![];
    let mut repeated = 0;
    for t in batch.targets {
        if !seen.insert(t.handle.clone()) {
            repeated += 1;
            continue;
        }
        handles.push(t.handle);
        names.push(t.name);
        vars.push(Value::Object(t.vars));
        clients.push(t.client_id);
    }
    let offered = handles.len();
    let opted_out = sqlx::query_scalar!(
        r#"select count(*) as "n!" from outreach_optouts where handle = any($1) and handle <> ''"#,
        &handles
    )
    .fetch_one(&mut *tx)
    .await?;
    let added = sqlx::query_scalar!(
        r#"with new as (
             insert into outreach_targets (campaign_id, handle, name, vars, client_id, due_at)
             select $1, u.handle, u.name, u.vars, u.client_id, now()
             from unnest($2::text[], $3::text[], $4::jsonb[], $5::uuid[]) as u(handle, name, vars, client_id)
             where not exists (select 1 from outreach_optouts o where o.handle = u.handle)
             on conflict (campaign_id, handle) do nothing
             returning 1)
           select count(*) as "n!" from new"#,
        campaign,
        &handles,
        &names,
        &vars,
        &clients as &[Option<Uuid>]
    )
    .fetch_one(&mut *tx)
    .await?;
    let added = added as usize;
    let opted_out = opted_out as usize;
    let out = TargetsAdded {
        added,
        repeated: repeated + offered - added - opted_out,
        opted_out,
        bad: batch.bad,
        bad_lines: batch.bad_lines,
    };
    audit::record(
        &mut tx,
        Some(actor),
        "outreach_campaign",
        &campaign.to_string(),
        "add_targets",
        None,
        Some(
            serde_json::json!({"how": how, "added": out.added, "repeated": out.repeated,
                                "opted_out": out.opted_out, "bad": out.bad}),
        ),
    )
    .await?;
    super::events::campaign_changed(&mut tx, campaign).await?;
    tx.commit().await?;
    Ok(out)
}

/// A dialog started on request (the admin bot's `/start @username`): the
/// person goes first in the queue of the latest running campaign the
/// actor runs (outreach:edit), and its account writes to them at its
/// next free slot. The campaign's name and the dialog's number.
pub async fn start_now(pool: &PgPool, actor: &Actor, raw: &str) -> Result<(String, i64), OutreachError> {
    let handle = Handle::parse(raw)
        .ok_or_else(|| OutreachError::invalid("handle", "Не похоже на @username, ссылку t.me или телефон +7"))?
        .key();
    // The actor's reach of campaigns, as the list decides it: all, or
    // those they made or manage.
    let scope = rbac::authorize(pool, actor, Operation::Outreach(OutreachOp::Manage), Target::Collection).await?;
    let (campaign, name) = sqlx::query!(
        "select id, name from outreach_campaigns
         where status = 'running' and ($1 or created_by = $2 or manager_id = $2)
         order by started_at desc nulls last, created_at desc
         limit 1",
        scope == Scope::All,
        actor.user_id
    )
    .fetch_optional(pool)
    .await?
    .map(|c| (c.id, c.name))
    .ok_or_else(|| OutreachError::invalid("campaign", "Нет запущенной кампании: создайте и запустите её в CRM"))?;
    let mut tx = pool.begin().await?;
    let opted_out = sqlx::query_scalar!(
        r#"select exists (select 1 from outreach_optouts where handle = $1) as "x!""#,
        handle
    )
    .fetch_one(&mut *tx)
    .await?;
    if opted_out {
        return Err(OutreachError::invalid("handle", "Этот человек просил ему не писать"));
    }
    // Due a day back: ahead of everyone the campaign queued today.
    let row = sqlx::query!(
        "insert into outreach_targets (campaign_id, handle, due_at) values ($1, $2, now() - interval '1 day')
         on conflict (campaign_id, handle) do update
            set due_at = case when outreach_targets.status = 'queued' and outreach_targets.sending_at is null
                              then excluded.due_at else outreach_targets.due_at end
         returning id, status",
        campaign,
        handle
    )
    .fetch_one(&mut *tx)
    .await?;
    if row.status != "queued" {
        return Err(OutreachError::invalid(
            "handle",
            &format!(
                "Диалог №{} с {handle} уже идёт: {}",
                row.id,
                super::inbox::status_ru(&row.status)
            ),
        ));
    }
    audit::record(
        &mut tx,
        Some(actor),
        "outreach_campaign",
        &campaign.to_string(),
        "start_now",
        None,
        Some(serde_json::json!({"handle": handle, "target": row.id})),
    )
    .await?;
    super::events::campaign_changed(&mut tx, campaign).await?;
    tx.commit().await?;
    Ok((name, row.id))
}
