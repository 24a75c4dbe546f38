//! The mapping of amoCRM's pipelines, statuses, users and lead fields onto
//! ours. Reading the account lists every value it has, with a suggestion
//! (same name; 142 → our won stage, 143 → lost; a user by email; the
//! «Продукт» select → our products by name); what a person chose is kept
//! when the account is read again. A value left unmapped is listed —
//! a lead in an unmapped status goes to the unsorted inbox, an unmapped
//! field's values are counted in the import's report — never dropped
//! without a word.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::api::Api;
use super::log::{self, Direction};
use super::AmoSettings;
use crate::accounts::FieldError;
use crate::crypto::Cipher;
use crate::integrations::IntegrationError;
use crate::leads::{self, DictItem, Pipeline};
use crate::rbac::{self, SettingsOp};
use crate::realtime::{self, Event};
use crate::{audit, Actor};

/// amoCRM's won and lost statuses, the same in every pipeline.
pub const WON: i64 = 142;
pub const LOST: i64 = 143;

/// A lead field's targets besides the extra fields (`cf_N`).
pub const FIELD_TARGETS: [(&str, &str); 2] = [("product", "Продукт"), ("comment", "Комментарий")];

/// One of their values and what it means here.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MapRow {
    /// pipeline, status, user, field, enum.
    pub kind: String,
    pub remote_id: i64,
    /// A status's pipeline, an enum's field.
    pub remote_parent: Option<i64>,
    pub remote_name: String,
    pub remote_type: String,
    /// Ours: a pipeline, stage or user id, a field target, a product id;
    /// empty when not mapped.
    pub local_key: String,
    pub confirmed: bool,
}

/// Everything the mapping screen shows.
#[derive(Debug, Clone, Serialize)]
pub struct MappingView {
    pub rows: Vec<MapRow>,
    pub pipelines: Vec<Pipeline>,
    pub users: Vec<DictItem>,
    /// (key, label): `product`, `comment` and the active extra fields.
    pub fields: Vec<(String, String)>,
    pub products: Vec<DictItem>,
}

/// One choice on the screen.
#[derive(Debug, Clone, Deserialize)]
pub struct MapChoice {
    pub kind: String,
    pub remote_id: i64,
    pub local_key: String,
}

/// What was read from the account.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RemoteCounts {
    pub pipelines: usize,
    pub statuses: usize,
    pub users: usize,
    pub fields: usize,
}

/// The mapping as it stands (settings:edit).
pub async fn mapping(pool: &PgPool, actor: &Actor) -> Result<MappingView, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let rows = rows(pool).await?;
    Ok(MappingView {
        rows,
        pipelines: leads::pipelines(pool).await.map_err(IntegrationError::Leads)?,
        users: staff(pool).await?,
        fields: field_targets(pool).await?,
        products: leads::dictionaries(pool)
            .await
            .map_err(IntegrationError::Leads)?
            .products,
    })
}

async fn rows(pool: &PgPool) -> Result<Vec<MapRow>, sqlx::Error> {
    sqlx::query_as!(
        MapRow,
        "select kind, remote_id, remote_parent, remote_name, remote_type, local_key, confirmed from amocrm_map
         order by array_position(array['pipeline', 'status', 'user', 'field', 'enum'], kind), remote_parent nulls first,
                  remote_id"
    )
    .fetch_all(pool)
    .await
}

async fn staff(pool: &PgPool) -> Result<Vec<DictItem>, sqlx::Error> {
    Ok(sqlx::query!(
        "select id, full_name from users where status = 'active' and blocked_at is null
           and role in ('admin', 'employee') order by full_name"
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| DictItem {
        id: r.id,
        name: r.full_name,
    })
    .collect())
}

async fn field_targets(pool: &PgPool) -> Result<Vec<(String, String)>, IntegrationError> {
    let custom = leads::custom_fields(pool).await.map_err(IntegrationError::Leads)?;
    Ok(FIELD_TARGETS
        .iter()
        .map(|(k, l)| (k.to_string(), l.to_string()))
        .chain(custom.into_iter().filter(|f| f.active).map(|f| (f.key, f.label)))
        .collect())
}

/// A value read from the account.
struct Remote {
    kind: &'static str,
    id: i64,
    parent: Option<i64>,
    name: String,
    typ: String,
    /// Used to suggest a user by email.
    email: String,
}

/// Reads the account's pipelines, users and lead fields, adds what is new
/// with a suggestion and renames what changed (settings:edit).
pub async fn read_account(
    pool: &PgPool,
    cipher: &Cipher,
    settings: &AmoSettings,
    actor: &Actor,
) -> Result<RemoteCounts, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let mut api = Api::open(pool, cipher, settings).await?;
    let mut remote = vec![];
    let mut counts = RemoteCounts::default();
    let pipelines = api.get("/api/v4/leads/pipelines", &[]).await?.unwrap_or_default();
    for p in list(&pipelines, "pipelines") {
        let pid = p["id"].as_i64().unwrap_or_default();
        counts.pipelines += 1;
        remote.push(Remote {
            kind: "pipeline",
            id: pid,
            parent: None,
            name: text(&p["name"]),
            typ: String::new(),
            email: String::new(),
        });
        for s in list(p, "statuses") {
            counts.statuses += 1;
            remote.push(Remote {
                kind: "status",
                id: s["id"].as_i64().unwrap_or_default(),
                parent: Some(pid),
                name: text(&s["name"]),
                // type 1: the pipeline's «Неразобранное».
                typ: if s["type"].as_i64() == Some(1) {
                    "unsorted".into()
                } else {
                    String::new()
                },
                email: String::new(),
            });
        }
    }
    for u in pages(&mut api, "/api/v4/users", "users").await? {
        counts.users += 1;
        remote.push(Remote {
            kind: "user",
            id: u["id"].as_i64().unwrap_or_default(),
            parent: None,
            name: text(&u["name"]),
            typ: String::new(),
            email: text(&u["email"]).to_lowercase(),
        });
    }
    for f in pages(&mut api, "/api/v4/leads/custom_fields", "custom_fields").await? {
        let fid = f["id"].as_i64().unwrap_or_default();
        counts.fields += 1;
        remote.push(Remote {
            kind: "field",
            id: fid,
            parent: None,
            name: text(&f["name"]),
            typ: text(&f["type"]),
            email: String::new(),
        });
        for e in f["enums"].as_array().into_iter().flatten() {
            remote.push(Remote {
                kind: "enum",
                id: e["id"].as_i64().unwrap_or_default(),
                parent: Some(fid),
                name: text(&e["value"]),
                typ: String::new(),
                email: String::new(),
            });
        }
    }
    let suggest = Suggest::load(pool).await?;
    let existing: HashMap<(String, i64), MapRow> = rows(pool)
        .await?
        .into_iter()
        .map(|r| ((r.kind.clone(), r.remote_id), r))
        .collect();
    let mut tx = pool.begin().await?;
    // Pipelines first: a status's suggestion reads its pipeline's mapping.
    let mut chosen: HashMap<(String, i64), String> =
        existing.iter().map(|(k, r)| (k.clone(), r.local_key.clone())).collect();
    for r in &remote {
        let key = (r.kind.to_string(), r.id);
        let keep = existing.get(&key).filter(|e| e.confirmed || !e.local_key.is_empty());
        let local = match keep {
            Some(e) => e.local_key.clone(),
            None => suggest.suggest(r, &chosen),
        };
        chosen.insert(key, local.clone());
        sqlx::query!(
            "insert into amocrm_map (kind, remote_id, remote_parent, remote_name, remote_type, local_key)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (kind, remote_id) do update set remote_parent = excluded.remote_parent,
                 remote_name = excluded.remote_name, remote_type = excluded.remote_type,
                 local_key = excluded.local_key, seen_at = now()",
            r.kind,
            r.id,
            r.parent,
            r.name,
            r.typ,
            local
        )
        .execute(&mut *tx)
        .await?;
    }
    log::write(
        &mut tx,
        Direction::In,
        "account.read",
        "ok",
        &format!(
            "воронок {}, статусов {}, пользователей {}, полей {} · запросов {}",
            counts.pipelines, counts.statuses, counts.users, counts.fields, api.requests
        ),
    )
    .await?;
    realtime::publish(&mut tx, &Event::AmoCrmChanged).await?;
    tx.commit().await?;
    Ok(counts)
}

fn list<'v>(v: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
    v["_embedded"][key].as_array().into_iter().flatten()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Every item of a paged list (250 a page, until a 204 or a short page).
async fn pages(api: &mut Api<'_>, path: &str, key: &str) -> Result<Vec<Value>, IntegrationError> {
    let mut out = vec![];
    for page in 1..=200 {
        let Some(v) = api
            .get(
                path,
                &[("page".into(), page.to_string()), ("limit".into(), "250".into())],
            )
            .await?
        else {
            break;
        };
        let items: Vec<Value> = list(&v, key).cloned().collect();
        let n = items.len();
        out.extend(items);
        if n < 250 || v["_links"]["next"].is_null() {
            break;
        }
    }
    Ok(out)
}

/// What is suggested for a value nobody mapped yet.
struct Suggest {
    pipelines: Vec<Pipeline>,
    users_by_email: HashMap<String, Uuid>,
    fields: Vec<(String, String)>,
    products: Vec<DictItem>,
}

impl Suggest {
    async fn load(pool: &PgPool) -> Result<Self, IntegrationError> {
        let users_by_email = sqlx::query!(
            "select id, lower(email) as \"email!\" from users where status = 'active' and blocked_at is null
               and role in ('admin', 'employee')"
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| (r.email, r.id))
        .collect();
        Ok(Self {
            pipelines: leads::pipelines(pool).await.map_err(IntegrationError::Leads)?,
            users_by_email,
            fields: field_targets(pool).await?,
            products: leads::dictionaries(pool)
                .await
                .map_err(IntegrationError::Leads)?
                .products,
        })
    }

    fn suggest(&self, r: &Remote, chosen: &HashMap<(String, i64), String>) -> String {
        let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
        match r.kind {
            "pipeline" => self
                .pipelines
                .iter()
                .find(|p| same(&p.name, &r.name))
                .or(self.pipelines.first())
                .map(|p| p.id.to_string())
                .unwrap_or_default(),
            "status" => {
                let pipeline = r
                    .parent
                    .and_then(|p| chosen.get(&("pipeline".to_string(), p)))
                    .and_then(|id| self.pipelines.iter().find(|p| &p.id.to_string() == id));
                let Some(p) = pipeline else {
                    return String::new();
                };
                let by_kind = |kind: &str| p.stages.iter().find(|s| s.kind == kind);
                let stage = match r.id {
                    WON => by_kind("won"),
                    LOST => by_kind("lost"),
                    _ if r.typ == "unsorted" => None,
                    _ => p.stages.iter().find(|s| same(&s.name, &r.name)),
                };
                stage.map(|s| s.id.to_string()).unwrap_or_default()
            }
            "user" => self
                .users_by_email
                .get(&r.email)
                .map(|u| u.to_string())
                .unwrap_or_default(),
            "field" => {
                if same(&r.name, "Продукт") && matches!(r.typ.as_str(), "select" | "radiobutton" | "text") {
                    return "product".into();
                }
                self.fields
                    .iter()
                    .find(|(k, label)| k.starts_with("cf_") && same(label, &r.name))
                    .map(|(k, _)| k.clone())
                    .unwrap_or_default()
            }
            "enum" => self
                .products
                .iter()
                .find(|p| same(&p.name, &r.name))
                .map(|p| p.id.to_string())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

/// Saves what a person chose (settings:edit). Each choice must name
/// something that exists; a status must map to a stage of the pipeline its
/// own pipeline is mapped to.
pub async fn save_mapping(pool: &PgPool, actor: &Actor, choices: Vec<MapChoice>) -> Result<(), IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let view = mapping(pool, actor).await?;
    let known: HashMap<(String, i64), &MapRow> = view.rows.iter().map(|r| ((r.kind.clone(), r.remote_id), r)).collect();
    // The pipelines as they will be after this save.
    let mut pipeline_of: HashMap<i64, String> = view
        .rows
        .iter()
        .filter(|r| r.kind == "pipeline")
        .map(|r| (r.remote_id, r.local_key.clone()))
        .collect();
    for c in choices.iter().filter(|c| c.kind == "pipeline") {
        pipeline_of.insert(c.remote_id, c.local_key.clone());
    }
    let mut errors = vec![];
    for c in &choices {
        let Some(row) = known.get(&(c.kind.clone(), c.remote_id)) else {
            errors.push(FieldError::new(
                &format!("{}_{}", c.kind, c.remote_id),
                "Такого значения в amoCRM нет — перечитайте аккаунт",
            ));
            continue;
        };
        let key = c.local_key.trim();
        let ok = key.is_empty()
            || match c.kind.as_str() {
                "pipeline" => view.pipelines.iter().any(|p| p.id.to_string() == key),
                "status" => {
                    let target = row.remote_parent.and_then(|p| pipeline_of.get(&p));
                    view.pipelines
                        .iter()
                        .filter(|p| Some(&p.id.to_string()) == target)
                        .any(|p| p.stages.iter().any(|s| s.id.to_string() == key))
                }
                "user" => view.users.iter().any(|u| u.id.to_string() == key),
                "field" => view.fields.iter().any(|(k, _)| k == key),
                "enum" => view.products.iter().any(|p| p.id.to_string() == key),
                _ => false,
            };
        if !ok {
            let message = if c.kind == "status" {
                "Выберите этап той воронки, с которой сопоставлена воронка amoCRM"
            } else {
                "Выберите значение из списка"
            };
            errors.push(FieldError::new(&format!("{}_{}", c.kind, c.remote_id), message));
        }
        if c.kind == "pipeline" && key.is_empty() {
            errors.push(FieldError::new(
                &format!("pipeline_{}", c.remote_id),
                "Воронку amoCRM нужно сопоставить с одной из наших",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(IntegrationError::Validation(errors));
    }
    let mut tx = pool.begin().await?;
    for c in &choices {
        sqlx::query!(
            "update amocrm_map set local_key = $3, confirmed = true where kind = $1 and remote_id = $2",
            c.kind,
            c.remote_id,
            c.local_key.trim()
        )
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut tx,
        Some(actor),
        "amocrm",
        "mapping",
        "update",
        None,
        Some(serde_json::json!({ "changed": choices.len() })),
    )
    .await?;
    log::write(
        &mut tx,
        Direction::System,
        "mapping.save",
        "ok",
        &format!("{} значений", choices.len()),
    )
    .await?;
    realtime::publish(&mut tx, &Event::AmoCrmChanged).await?;
    tx.commit().await?;
    Ok(())
}

/// The mapping as the import and the sync use it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    /// their pipeline → ours
    pub pipelines: HashMap<i64, Uuid>,
    /// their status → our stage (absent: the unsorted inbox)
    pub stages: HashMap<i64, Uuid>,
    pub users: HashMap<i64, Uuid>,
    /// their field → `product`, `comment` or `cf_N`
    pub fields: HashMap<i64, String>,
    /// names of their fields, for the report of what was not mapped
    pub field_names: HashMap<i64, String>,
    /// their enum → our product
    pub products: HashMap<i64, Uuid>,
    /// our stage → its kind (open, won, lost)
    pub stage_kinds: HashMap<Uuid, String>,
    /// a pipeline to put leads of an unmapped pipeline into
    pub default_pipeline: Option<Uuid>,
    /// their status → its pipeline
    pub status_pipelines: HashMap<i64, i64>,
}

impl Plan {
    /// Their field that holds our product.
    pub fn product_field(&self) -> Option<i64> {
        self.fields
            .iter()
            .find(|(_, k)| k.as_str() == "product")
            .map(|(f, _)| *f)
    }

    /// Their status for our stage: 142/143 for a won/lost stage, else the
    /// first status mapped to it (with its pipeline).
    pub fn status_for(&self, stage: Uuid) -> Option<(i64, i64)> {
        let kind = self.stage_kinds.get(&stage).map(String::as_str);
        let mut mapped: Vec<i64> = self
            .stages
            .iter()
            .filter(|(_, s)| **s == stage)
            .map(|(r, _)| *r)
            .collect();
        mapped.sort_unstable();
        let status = match kind {
            Some("won") if mapped.contains(&WON) => WON,
            Some("lost") if mapped.contains(&LOST) => LOST,
            _ => *mapped.iter().find(|r| **r != WON && **r != LOST).or(mapped.first())?,
        };
        Some((status, *self.status_pipelines.get(&status)?))
    }

    /// Their user for ours.
    pub fn user_for(&self, user: Uuid) -> Option<i64> {
        let mut ids: Vec<i64> = self
            .users
            .iter()
            .filter(|(_, u)| **u == user)
            .map(|(r, _)| *r)
            .collect();
        ids.sort_unstable();
        ids.first().copied()
    }

    /// Their list value for our product.
    pub fn enum_for(&self, product: Uuid) -> Option<i64> {
        let mut ids: Vec<i64> = self
            .products
            .iter()
            .filter(|(_, p)| **p == product)
            .map(|(r, _)| *r)
            .collect();
        ids.sort_unstable();
        ids.first().copied()
    }

    pub async fn load(pool: &PgPool) -> Result<Self, IntegrationError> {
        let mut plan = Plan::default();
        for r in rows(pool).await? {
            let uuid = Uuid::parse_str(&r.local_key).ok();
            if let ("status", Some(p)) = (r.kind.as_str(), r.remote_parent) {
                plan.status_pipelines.insert(r.remote_id, p);
            }
            match (r.kind.as_str(), uuid) {
                ("pipeline", Some(id)) => {
                    plan.pipelines.insert(r.remote_id, id);
                }
                ("status", Some(id)) => {
                    plan.stages.insert(r.remote_id, id);
                }
                ("user", Some(id)) => {
                    plan.users.insert(r.remote_id, id);
                }
                ("enum", Some(id)) => {
                    plan.products.insert(r.remote_id, id);
                }
                ("field", _) => {
                    plan.field_names.insert(r.remote_id, r.remote_name.clone());
                    if !r.local_key.is_empty() {
                        plan.fields.insert(r.remote_id, r.local_key);
                    }
                }
                _ => {}
            }
        }
        let pipelines = leads::pipelines(pool).await.map_err(IntegrationError::Leads)?;
        plan.default_pipeline = pipelines.first().map(|p| p.id);
        plan.stage_kinds = pipelines
            .into_iter()
            .flat_map(|p| p.stages)
            .map(|s| (s.id, s.kind))
            .collect();
        Ok(plan)
    }
}
