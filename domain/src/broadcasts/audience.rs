//! Audiences: a filter over a bot's users, saved as a segment or given to
//! one broadcast, turned into SQL with every value bound.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::{authorize_bot, BroadcastError};
use crate::rbac::BroadcastOp;
use crate::telegram::Telegram;
use crate::{audit, Actor};

/// How a variable is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VarOp {
    #[default]
    Equals,
    Contains,
    Empty,
    NotEmpty,
    /// A number within `min..=max` (either end may be open).
    Between,
}

/// What a user is linked to in the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Linked {
    Client,
    Lead,
    Partner,
    /// Linked to nothing.
    Nothing,
}

/// One condition; a filter holds when all of them do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum Condition {
    /// Has (or lacks) a tag.
    Tag {
        tag: String,
        #[serde(default = "yes")]
        has: bool,
    },
    /// A variable collected in a flow.
    Var {
        name: String,
        #[serde(default)]
        op: VarOp,
        #[serde(default)]
        value: String,
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
    },
    /// The Telegram client's language (`ru`, `en`…).
    Language {
        value: String,
    },
    /// First came to the bot between these days (company time).
    FirstSeen {
        #[serde(default)]
        from: Option<NaiveDate>,
        #[serde(default)]
        to: Option<NaiveDate>,
    },
    /// Last wrote to the bot between these days.
    LastSeen {
        #[serde(default)]
        from: Option<NaiveDate>,
        #[serde(default)]
        to: Option<NaiveDate>,
    },
    /// Came with this `/start` payload (empty: came without one).
    StartPayload {
        value: String,
    },
    Linked {
        to: Linked,
    },
    /// Their lead is at this stage.
    LeadStage {
        stage_id: Uuid,
    },
    /// Has any of these tags.
    AnyTag {
        tags: Vec<String>,
    },
}

fn yes() -> bool {
    true
}

/// A filter: all conditions, and (when `tags` is not empty) any of the tags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Users with any of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Filter {
    pub fn check(&self) -> Result<(), BroadcastError> {
        let bad = |m: &str| Err(BroadcastError::Validation(m.to_string()));
        if self.conditions.len() > 30 {
            return bad("Не больше 30 условий в сегменте");
        }
        for c in &self.conditions {
            match c {
                Condition::Tag { tag, .. } if tag.trim().is_empty() => return bad("Укажите метку"),
                Condition::Var { name, .. } if name.trim().is_empty() => return bad("Укажите имя переменной"),
                Condition::Var {
                    op: VarOp::Between,
                    min,
                    max,
                    ..
                } => {
                    if min.is_none() && max.is_none() {
                        return bad("Укажите границы диапазона: от, до или обе");
                    }
                    if let (Some(a), Some(b)) = (min, max) {
                        if a > b {
                            return bad("Начало диапазона больше конца");
                        }
                    }
                }
                Condition::Language { value } if value.trim().is_empty() => return bad("Укажите язык, например ru"),
                Condition::FirstSeen {
                    from: Some(a),
                    to: Some(b),
                }
                | Condition::LastSeen {
                    from: Some(a),
                    to: Some(b),
                } if a > b => return bad("Дата «с» позже даты «по»"),
                _ => {}
            }
        }
        Ok(())
    }

    /// Appends ` and …` for every condition over `bot_chats c`.
    pub(super) fn push_sql(&self, q: &mut QueryBuilder<'_, Postgres>) {
        let zone = crate::time::zone().name().to_string();
        for c in &self.conditions {
            match c {
                Condition::Tag { tag, has } => {
                    q.push(if *has { " and " } else { " and not " });
                    q.push("(c.tags @> array[");
                    q.push_bind(tag.trim().to_string());
                    q.push("]::text[])");
                }
                Condition::Var {
                    name,
                    op,
                    value,
                    min,
                    max,
                } => {
                    let var = |q: &mut QueryBuilder<'_, Postgres>| {
                        q.push("(c.vars->>");
                        q.push_bind(name.trim().to_string());
                        q.push(")");
                    };
                    match op {
                        VarOp::Equals => {
                            q.push(" and lower(trim(");
                            var(q);
                            q.push(")) = lower(trim(");
                            q.push_bind(value.clone());
                            q.push("))");
                        }
                        VarOp::Contains => {
                            q.push(" and strpos(lower(");
                            var(q);
                            q.push("), lower(");
                            q.push_bind(value.trim().to_string());
                            q.push(")) > 0");
                        }
                        VarOp::Empty => {
                            q.push(" and coalesce(trim(");
                            var(q);
                            q.push("), '') = ''");
                        }
                        VarOp::NotEmpty => {
                            q.push(" and coalesce(trim(");
                            var(q);
                            q.push("), '') <> ''");
                        }
                        VarOp::Between => {
                            // Only values that read as numbers compare; the
                            // cast happens after the check.
                            q.push(" and (case when trim(");
                            var(q);
                            q.push(r") ~ '^-?[0-9]+([.,][0-9]+)?$' then replace(trim(");
                            var(q);
                            q.push("), ',', '.')::numeric end)");
                            match (min, max) {
                                (Some(a), Some(b)) => {
                                    q.push(" between ");
                                    q.push_bind(*a);
                                    q.push("::float8::numeric and ");
                                    q.push_bind(*b);
                                    q.push("::float8::numeric");
                                }
                                (Some(a), None) => {
                                    q.push(" >= ");
                                    q.push_bind(*a);
                                    q.push("::float8::numeric");
                                }
                                (None, Some(b)) => {
                                    q.push(" <= ");
                                    q.push_bind(*b);
                                    q.push("::float8::numeric");
                                }
                                (None, None) => {
                                    q.push(" is not null");
                                }
                            }
                        }
                    }
                }
                Condition::Language { value } => {
                    q.push(" and lower(coalesce(c.language, '')) like ");
                    q.push_bind(format!("{}%", value.trim().to_lowercase().replace(['%', '_'], "")));
                }
                Condition::FirstSeen { from, to } | Condition::LastSeen { from, to } => {
                    let col = if matches!(c, Condition::FirstSeen { .. }) {
                        "c.first_seen_at"
                    } else {
                        "c.last_seen_at"
                    };
                    for (day, op) in [(from, " >= "), (to, " <= ")] {
                        if let Some(d) = day {
                            q.push(format!(" and ({col} at time zone "));
                            q.push_bind(zone.clone());
                            q.push(")::date");
                            q.push(op);
                            q.push_bind(*d);
                        }
                    }
                }
                Condition::StartPayload { value } => {
                    q.push(" and coalesce(c.vars->>'start_payload', '') = ");
                    q.push_bind(value.trim().to_string());
                }
                Condition::Linked { to } => {
                    q.push(match to {
                        Linked::Client => " and c.client_id is not null",
                        Linked::Lead => " and c.lead_id is not null",
                        Linked::Partner => {
                            " and exists (select 1 from users u where u.id = c.user_id and u.role = 'partner')"
                        }
                        Linked::Nothing => " and c.client_id is null and c.lead_id is null and c.user_id is null",
                    });
                }
                Condition::AnyTag { tags } => {
                    let tags: Vec<String> = tags.iter().map(|t| t.trim().to_string()).collect();
                    q.push(" and c.tags && ");
                    q.push_bind(tags);
                    q.push("::text[]");
                }
                Condition::LeadStage { stage_id } => {
                    q.push(" and exists (select 1 from leads l where l.id = c.lead_id and l.stage_id = ");
                    q.push_bind(*stage_id);
                    q.push(")");
                }
            }
        }
        if !self.tags.is_empty() {
            let tags: Vec<String> = self.tags.iter().map(|t| t.trim().to_string()).collect();
            q.push(" and c.tags && ");
            q.push_bind(tags);
            q.push("::text[]");
        }
    }
}

/// How many users a filter finds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AudienceCount {
    /// Who will get the message.
    pub reachable: i64,
    /// Matching, but blocked the bot.
    pub blocked: i64,
    /// Matching, but sent /stop.
    pub opted_out: i64,
}

pub(super) async fn count_in<'e>(
    db: impl sqlx::PgExecutor<'e>,
    bot_id: Uuid,
    filter: &Filter,
) -> Result<AudienceCount, sqlx::Error> {
    let mut q = QueryBuilder::new(
        "select count(*) filter (where not c.blocked and not c.opted_out),
                count(*) filter (where c.blocked),
                count(*) filter (where c.opted_out and not c.blocked)
         from bot_chats c where c.chat_id > 0 and c.bot_id = ",
    );
    q.push_bind(bot_id);
    filter.push_sql(&mut q);
    let (reachable, blocked, opted_out): (i64, i64, i64) = q.build_query_as().fetch_one(db).await?;
    Ok(AudienceCount {
        reachable,
        blocked,
        opted_out,
    })
}

/// The live count while a segment or a broadcast's audience is edited.
pub async fn audience_count(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    filter: &Filter,
) -> Result<AudienceCount, BroadcastError> {
    authorize_bot(tg, actor, BroadcastOp::View, bot_id).await?;
    filter.check()?;
    Ok(count_in(tg.pool(), bot_id, filter).await?)
}

#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub id: Uuid,
    pub bot_id: Uuid,
    pub name: String,
    pub filter: Filter,
    pub count: AudienceCount,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SegmentInput {
    /// `None` creates a segment.
    #[serde(default)]
    pub id: Option<Uuid>,
    pub name: String,
    #[serde(flatten)]
    pub filter: Filter,
}

pub async fn list_segments(tg: &Telegram, actor: &Actor, bot_id: Uuid) -> Result<Vec<Segment>, BroadcastError> {
    authorize_bot(tg, actor, BroadcastOp::View, bot_id).await?;
    let rows = sqlx::query!(
        "select id, name, filter from bot_segments where bot_id = $1 order by name",
        bot_id
    )
    .fetch_all(tg.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let filter: Filter = serde_json::from_value(r.filter).unwrap_or_default();
        let count = count_in(tg.pool(), bot_id, &filter).await?;
        out.push(Segment {
            id: r.id,
            bot_id,
            name: r.name,
            filter,
            count,
        });
    }
    Ok(out)
}

/// Creates or changes a segment (broadcasts:create); audited.
pub async fn save_segment(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    input: SegmentInput,
) -> Result<Segment, BroadcastError> {
    authorize_bot(tg, actor, BroadcastOp::Create, bot_id).await?;
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(BroadcastError::Validation("Назовите сегмент (до 100 символов)".into()));
    }
    input.filter.check()?;
    let filter = serde_json::to_value(&input.filter).unwrap_or_default();
    let mut tx = tg.pool().begin().await?;
    let id = match input.id {
        Some(id) => sqlx::query_scalar!(
            "update bot_segments set name = $3, filter = $4 where id = $1 and bot_id = $2 returning id",
            id,
            bot_id,
            name,
            filter
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(taken)?
        .ok_or(BroadcastError::SegmentNotFound)?,
        None => sqlx::query_scalar!(
            "insert into bot_segments (bot_id, name, filter, created_by) values ($1, $2, $3, $4) returning id",
            bot_id,
            name,
            filter,
            actor.user_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(taken)?,
    };
    audit::record(
        &mut tx,
        Some(actor),
        "bot_segment",
        &id.to_string(),
        if input.id.is_some() { "update" } else { "create" },
        None,
        Some(serde_json::json!({ "name": name, "filter": filter })),
    )
    .await?;
    tx.commit().await?;
    let count = count_in(tg.pool(), bot_id, &input.filter).await?;
    Ok(Segment {
        id,
        bot_id,
        name,
        filter: input.filter,
        count,
    })
}

fn taken(e: sqlx::Error) -> BroadcastError {
    match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("bot_segments_name_key") => {
            BroadcastError::Validation("Сегмент с таким названием уже есть".into())
        }
        _ => BroadcastError::Db(e),
    }
}

pub async fn delete_segment(tg: &Telegram, actor: &Actor, segment_id: Uuid) -> Result<(), BroadcastError> {
    let bot = sqlx::query_scalar!("select bot_id from bot_segments where id = $1", segment_id)
        .fetch_optional(tg.pool())
        .await?
        .ok_or(BroadcastError::SegmentNotFound)?;
    authorize_bot(tg, actor, BroadcastOp::Create, bot).await?;
    let mut tx = tg.pool().begin().await?;
    sqlx::query!("delete from bot_segments where id = $1", segment_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "bot_segment",
        &segment_id.to_string(),
        "delete",
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A segment's filter, for a broadcast of `bot_id`.
pub(super) async fn segment_filter<'e>(
    db: impl sqlx::PgExecutor<'e>,
    bot_id: Uuid,
    segment_id: Uuid,
) -> Result<Filter, BroadcastError> {
    let f = sqlx::query_scalar!(
        "select filter from bot_segments where id = $1 and bot_id = $2",
        segment_id,
        bot_id
    )
    .fetch_optional(db)
    .await?
    .ok_or(BroadcastError::SegmentNotFound)?;
    Ok(serde_json::from_value(f).unwrap_or_default())
}

/// Who a broadcast with this segment and these tags would reach now (the
/// composer's live count).
pub async fn broadcast_audience(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    segment_id: Option<Uuid>,
    tags: Vec<String>,
) -> Result<AudienceCount, BroadcastError> {
    authorize_bot(tg, actor, BroadcastOp::View, bot_id).await?;
    let mut filter = match segment_id {
        Some(s) => segment_filter(tg.pool(), bot_id, s).await?,
        None => Filter::default(),
    };
    let tags: Vec<String> = tags
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if !tags.is_empty() {
        filter.conditions.push(Condition::AnyTag { tags });
    }
    Ok(count_in(tg.pool(), bot_id, &filter).await?)
}
