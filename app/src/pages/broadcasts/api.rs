//! Server functions of the broadcast pages: thin, the actor from the
//! session, one domain call each, errors mapped to Russian.

use leptos::prelude::*;

use super::model::*;
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use crate::session::parse_id as uuid;
    use domain::broadcasts as b;

    pub fn tg() -> Result<domain::telegram::Telegram, AppError> {
        Ok(crate::session::services()?.telegram)
    }

    pub fn id(s: &str) -> Result<domain::Uuid, AppError> {
        uuid(s)
    }

    fn opt_time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
        t.map(domain::time::datetime).unwrap_or_default()
    }

    pub fn audience(c: b::AudienceCount) -> AudienceWire {
        AudienceWire {
            reachable: c.reachable,
            blocked: c.blocked,
            opted_out: c.opted_out,
        }
    }

    pub fn counts(c: &domain::broadcasts::Statistics) -> CountsWire {
        let c = c.counts;
        CountsWire {
            total: c.total,
            waiting: c.waiting,
            sent: c.sent,
            delivered: c.delivered,
            failed: c.failed,
            blocked: c.blocked,
            opted_out: c.opted_out,
            engaged: c.engaged,
        }
    }

    pub fn filter_to_wire(f: &b::Filter) -> FilterWire {
        let v = serde_json::to_value(f).unwrap_or_default();
        serde_json::from_value(v).unwrap_or_default()
    }

    pub fn filter_from_wire(f: FilterWire) -> Result<b::Filter, AppError> {
        let mut f = f;
        for c in &mut f.conditions {
            // An empty date or number means "no bound".
            for d in [&mut c.from, &mut c.to] {
                if d.as_deref().is_some_and(|s| s.trim().is_empty()) {
                    *d = None;
                }
            }
            if c.field == "first_seen" || c.field == "last_seen" {
                for d in [&c.from, &c.to].into_iter().flatten() {
                    if domain::time::parse_date(d).is_none() {
                        return Err(AppError::new("validation", "Дата — в виде ДД.ММ.ГГГГ").with_status());
                    }
                }
                let iso = |d: &Option<String>| {
                    d.as_deref()
                        .and_then(domain::time::parse_date)
                        .map(|d| d.format("%Y-%m-%d").to_string())
                };
                c.from = iso(&c.from);
                c.to = iso(&c.to);
            }
        }
        serde_json::from_value(serde_json::to_value(&f).unwrap_or_default())
            .map_err(|_| AppError::new("validation", "Условие сегмента заполнено не до конца").with_status())
    }

    pub fn segment(s: b::Segment) -> SegmentWire {
        SegmentWire {
            id: s.id.to_string(),
            name: s.name,
            filter: filter_to_wire(&s.filter),
            count: audience(s.count),
        }
    }

    pub fn broadcast(v: b::BroadcastView, threshold: i64) -> BroadcastWire {
        let sample = serde_json::Map::from_iter([("first_name".to_string(), serde_json::json!("Иван"))]);
        BroadcastWire {
            id: v.id.to_string(),
            bot_id: v.bot_id.to_string(),
            bot_username: v.bot_username,
            title: v.title,
            preview_html: b::render_text(&v.text, &sample, &v.footer),
            text: v.text,
            media: v.media.map(|m| MediaWire {
                kind: m.kind,
                upload_id: m.upload_id.to_string(),
                name: m.name,
            }),
            buttons: v
                .buttons
                .into_iter()
                .map(|x| ButtonWire {
                    text: x.text,
                    url: x.url,
                    flow_id: x.flow_id.map(|f| f.to_string()),
                })
                .collect(),
            segment_id: v.segment_id.map(|s| s.to_string()),
            segment_name: v.segment_name,
            tags: v.tags,
            state: v.state.as_str().into(),
            state_label: v.state.russian().into(),
            send_at_input: v
                .send_at
                .map(|t| domain::time::local(t).format("%Y-%m-%dT%H:%M").to_string())
                .unwrap_or_default(),
            send_at: opt_time(v.send_at),
            repeat: v.repeat.map(|r| r.as_str().to_string()),
            created_by: v.created_by,
            approved_by: v.approved_by,
            created_at: domain::time::datetime(v.created_at),
            started_at: opt_time(v.started_at),
            finished_at: opt_time(v.finished_at),
            total: v.total,
            counts: CountsWire {
                total: v.counts.total,
                waiting: v.counts.waiting,
                sent: v.counts.sent,
                delivered: v.counts.delivered,
                failed: v.counts.failed,
                blocked: v.counts.blocked,
                opted_out: v.counts.opted_out,
                engaged: v.counts.engaged,
            },
            audience: audience(v.audience),
            over_threshold: v.audience.reachable > threshold,
            footer: v.footer,
            may_edit: v.may_edit,
            may_send: v.may_send,
            may_approve: v.may_approve,
        }
    }

    pub fn line(b: b::BroadcastLine) -> LineWire {
        let when = b.started_at.or(b.send_at).unwrap_or(b.created_at);
        LineWire {
            id: b.id.to_string(),
            name: if b.title.is_empty() {
                crate::pages::broadcasts::home::short(&b.text)
            } else {
                b.title
            },
            state: b.state.as_str().into(),
            state_label: b.state.russian().into(),
            repeat: b.repeat.map(|r| r.as_str().to_string()),
            sent: b.counts.sent,
            total: b.total,
            when: domain::time::datetime(when),
            author: b.created_by,
        }
    }

    pub fn input(f: ComposeWire) -> Result<b::BroadcastInput, AppError> {
        let bad = |m: &str| AppError::new("validation", m).with_status();
        let (send_at, repeat) = match f.when.as_str() {
            "now" | "" => (None, None),
            other => {
                let t = chrono::NaiveDateTime::parse_from_str(f.send_at.trim(), "%Y-%m-%dT%H:%M")
                    .map_err(|_| bad("Укажите дату и время отправки"))?;
                let at = domain::time::local_to_utc(t);
                if other == "at" && at <= chrono::Utc::now() {
                    return Err(bad("Время отправки уже прошло — выберите будущее или «Сейчас»"));
                }
                let repeat = match other {
                    "daily" => Some(b::Repeat::Daily),
                    "weekly" => Some(b::Repeat::Weekly),
                    _ => None,
                };
                (Some(at), repeat)
            }
        };
        Ok(b::BroadcastInput {
            title: f.title,
            text: f.text,
            media: match f.media {
                Some(m) => Some(b::MediaInput {
                    kind: m.kind,
                    upload_id: id(&m.upload_id)?,
                    name: m.name,
                }),
                None => None,
            },
            buttons: f
                .buttons
                .into_iter()
                .filter(|x| !x.text.trim().is_empty() || x.url.as_deref().is_some_and(|u| !u.trim().is_empty()))
                .map(|x| {
                    Ok(b::ButtonInput {
                        text: x.text,
                        url: x.url.filter(|u| !u.trim().is_empty()),
                        flow_id: match x.flow_id.filter(|s| !s.is_empty()) {
                            Some(s) => Some(id(&s)?),
                            None => None,
                        },
                    })
                })
                .collect::<Result<_, AppError>>()?,
            segment_id: match f.segment_id.filter(|s| !s.is_empty()) {
                Some(s) => Some(id(&s)?),
                None => None,
            },
            tags: f
                .tags
                .split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            send_at,
            repeat,
        })
    }
}

#[cfg(feature = "ssr")]
use convert::*;

#[server]
pub async fn bot_broadcasts(bot_id: String) -> Result<BroadcastHome, AppError> {
    let actor = crate::session::require_actor().await?;
    let tg = tg()?;
    let bot = id(&bot_id)?;
    let ctx = domain::broadcasts::broadcast_context(&tg, &actor, bot).await?;
    let choices = domain::broadcasts::composer_choices(&tg, &actor, bot).await?;
    let segments = domain::broadcasts::list_segments(&tg, &actor, bot).await?;
    let choice = |(id, name): (domain::Uuid, String)| Choice {
        id: id.to_string(),
        name,
    };
    Ok(BroadcastHome {
        bot_id,
        bot_username: ctx.bot_username,
        flows: choices.flows.into_iter().map(choice).collect(),
        stages: choices.stages.into_iter().map(choice).collect(),
        segments: segments.into_iter().map(segment).collect(),
        rate: ctx.rate,
        footer: ctx.footer,
        threshold: ctx.threshold,
        zone: domain::time::zone().name().to_string(),
        may_create: ctx.may_create,
        may_send: ctx.may_send,
        may_export: ctx.may_export,
        may_edit_bot: ctx.may_edit_bot,
    })
}

/// The list of a bot's broadcasts with their progress.
#[server]
pub async fn broadcast_lines(bot_id: String) -> Result<LinesWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let tg = tg()?;
    let bot = id(&bot_id)?;
    let ctx = domain::broadcasts::broadcast_context(&tg, &actor, bot).await?;
    let list = domain::broadcasts::list_broadcasts(&tg, &actor, bot).await?;
    Ok(LinesWire {
        bot_username: ctx.bot_username,
        may_create: ctx.may_create,
        lines: list.into_iter().map(line).collect(),
    })
}

/// The composer's live count.
#[server]
pub async fn compose_audience(bot_id: String, segment_id: String, tags: String) -> Result<AudienceWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let segment = if segment_id.is_empty() {
        None
    } else {
        Some(id(&segment_id)?)
    };
    let tags = tags.split(',').map(|t| t.to_string()).collect();
    let c = domain::broadcasts::broadcast_audience(&tg()?, &actor, id(&bot_id)?, segment, tags).await?;
    Ok(audience(c))
}

/// The segment editor's live count.
#[server(input = server_fn::codec::Json)]
pub async fn segment_count(bot_id: String, filter: FilterWire) -> Result<AudienceWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let f = filter_from_wire(filter)?;
    Ok(audience(
        domain::broadcasts::audience_count(&tg()?, &actor, id(&bot_id)?, &f).await?,
    ))
}

#[server(input = server_fn::codec::Json)]
pub async fn save_segment(
    bot_id: String,
    segment_id: String,
    name: String,
    filter: FilterWire,
) -> Result<SegmentWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let input = domain::broadcasts::SegmentInput {
        id: if segment_id.is_empty() {
            None
        } else {
            Some(id(&segment_id)?)
        },
        name,
        filter: filter_from_wire(filter)?,
    };
    Ok(segment(
        domain::broadcasts::save_segment(&tg()?, &actor, id(&bot_id)?, input).await?,
    ))
}

#[server]
pub async fn delete_segment(segment_id: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    domain::broadcasts::delete_segment(&tg()?, &actor, id(&segment_id)?).await?;
    Ok(())
}

/// Saves the composer (a new draft or changes to one) and, with `start`,
/// starts it. Returns the broadcast's id.
#[server(input = server_fn::codec::Json)]
pub async fn save_broadcast(
    bot_id: String,
    broadcast_id: String,
    form: ComposeWire,
    start: bool,
) -> Result<String, AppError> {
    let actor = crate::session::require_actor().await?;
    let tg = tg()?;
    let input = input(form)?;
    let view = if broadcast_id.is_empty() {
        domain::broadcasts::create_broadcast(&tg, &actor, id(&bot_id)?, input).await?
    } else {
        domain::broadcasts::update_broadcast(&tg, &actor, id(&broadcast_id)?, input).await?
    };
    if start {
        domain::broadcasts::start(&tg, &actor, view.id).await?;
    }
    Ok(view.id.to_string())
}

#[server]
pub async fn broadcast_details(broadcast_id: String) -> Result<BroadcastPageData, AppError> {
    let actor = crate::session::require_actor().await?;
    let tg = tg()?;
    let bid = id(&broadcast_id)?;
    let view = domain::broadcasts::get_broadcast(&tg, &actor, bid).await?;
    let ctx = domain::broadcasts::broadcast_context(&tg, &actor, view.bot_id).await?;
    let s = domain::broadcasts::statistics(&tg, &actor, bid).await?;
    Ok(BroadcastPageData {
        stats: StatsWire {
            counts: counts(&s),
            skipped_blocked: s.skipped_blocked,
            skipped_opted_out: s.skipped_opted_out,
            failures: s
                .failures
                .into_iter()
                .map(|f| FailureWire {
                    reason: f.reason,
                    count: f.count,
                })
                .collect(),
            clicks: s
                .clicks
                .into_iter()
                .map(|c| ClicksWire {
                    text: c.text,
                    kind: c.kind,
                    clicks: c.clicks,
                })
                .collect(),
            timeline: s
                .timeline
                .into_iter()
                .map(|p| PointWire {
                    label: p.label,
                    delivered: p.delivered,
                    engaged: p.engaged,
                })
                .collect(),
            rate: s.rate,
            eta_seconds: s.eta_seconds,
            links_counted: s.links_counted,
        },
        broadcast: broadcast(view, ctx.threshold),
        threshold: ctx.threshold,
        may_export: ctx.may_export,
    })
}

/// start, approve, pause, resume, cancel, test.
#[server]
pub async fn broadcast_action(broadcast_id: String, action: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let tg = tg()?;
    let bid = id(&broadcast_id)?;
    use domain::broadcasts as b;
    match action.as_str() {
        "start" => drop(b::start(&tg, &actor, bid).await?),
        "approve" => drop(b::approve(&tg, &actor, bid).await?),
        "pause" => drop(b::pause(&tg, &actor, bid).await?),
        "resume" => drop(b::resume(&tg, &actor, bid).await?),
        "cancel" => drop(b::cancel(&tg, &actor, bid).await?),
        "test" => b::send_test(&tg, &actor, bid).await?,
        _ => return Err(AppError::new("validation", "Неизвестное действие").with_status()),
    }
    Ok(())
}

#[server]
pub async fn save_broadcast_settings(bot_id: String, rate: String, footer: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let rate: i32 = rate
        .trim()
        .parse()
        .map_err(|_| AppError::new("validation", "Скорость — целое число от 1 до 30").with_status())?;
    domain::broadcasts::set_bot_settings(
        &tg()?,
        &actor,
        id(&bot_id)?,
        domain::broadcasts::BotBroadcastSettings { rate, footer },
    )
    .await?;
    Ok(())
}

/// The company's approval threshold (settings:edit).
#[server]
pub async fn save_approval_threshold(threshold: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let n: i64 = threshold
        .trim()
        .parse()
        .map_err(|_| AppError::new("validation", "Порог — целое число от 0").with_status())?;
    domain::broadcasts::set_approval_threshold(&crate::session::services()?.pool, &actor, n).await?;
    Ok(())
}

/// A broadcast's photo or document (multipart: `bot_id`, `file`).
#[server(input = server_fn::codec::MultipartFormData)]
pub async fn upload_broadcast_media(data: server_fn::codec::MultipartData) -> Result<MediaWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let (fields, file) = crate::session::read_upload(data, 20 * 1024 * 1024, "Файл больше 20 МБ").await?;
    let (name, content_type, bytes) = file.ok_or_else(|| AppError::new("validation", "Выберите файл").with_status())?;
    let bot = id(fields.get("bot_id").map(String::as_str).unwrap_or(""))?;
    let m = domain::broadcasts::upload_media(&tg()?, &actor, bot, &name, &content_type, bytes).await?;
    Ok(MediaWire {
        kind: m.kind,
        upload_id: m.upload_id.to_string(),
        name: m.name,
    })
}

/// Contact import (multipart: `bot_id`, `file` — CSV or XLSX).
#[server(input = server_fn::codec::MultipartFormData)]
pub async fn upload_contacts(data: server_fn::codec::MultipartData) -> Result<ContactReportWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let (fields, file) = crate::session::read_upload(data, 20 * 1024 * 1024, "Файл больше 20 МБ").await?;
    let (name, _, bytes) = file.ok_or_else(|| AppError::new("validation", "Выберите файл").with_status())?;
    let bot = id(fields.get("bot_id").map(String::as_str).unwrap_or(""))?;
    let r = domain::broadcasts::import_contacts(&tg()?, &actor, bot, &name, &bytes).await?;
    Ok(ContactReportWire {
        rows: r.rows,
        matched: r.matched,
        unmatched: r.unmatched,
        key: r.key,
        variables: r.variables,
        tags_column: r.tags_column,
        unmatched_rows: r
            .unmatched_rows
            .into_iter()
            .map(|u| UnmatchedWire {
                line: u.line,
                value: u.value,
                reason: u.reason,
            })
            .collect(),
        explanation: r.explanation,
    })
}
