//! Scheduled reports: each due one is run as its owner (with the owner's
//! rights as they are now), written as XLSX and queued to the owner's chat
//! with the company bot, with a note in the bell — in one transaction with
//! moving its next sending on, under `FOR UPDATE SKIP LOCKED`, so across
//! instances and restarts each sending happens once.

use chrono::Utc;
use sqlx::PgPool;

use super::saved::Schedule;
use super::{export, run_report, ReportError};
use crate::reports::definition::DefinitionInput;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Sends the reports that are due; returns how many were handled.
pub async fn send_due(pool: &PgPool) -> Result<usize, ReportError> {
    let mut handled = 0;
    for _ in 0..20 {
        let mut tx = pool.begin().await?;
        let Some(r) = sqlx::query!(
            "select id, owner_id, name, definition, schedule from saved_reports
             where next_send_at <= now() order by next_send_at limit 1 for update skip locked"
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            break;
        };
        let schedule = Schedule::parse(&r.schedule).unwrap_or_default();
        let next = schedule.next_after(Utc::now());
        let link = format!("/reports/{}", r.id);
        let actor = crate::accounts::actor_by_id(pool, r.owner_id).await.ok().flatten();
        let definition: DefinitionInput = serde_json::from_value(r.definition).unwrap_or_default();
        let outcome = match actor {
            None => Err("владелец отчёта заблокирован".to_string()),
            Some(actor) => match run_report(pool, &actor, &definition).await {
                Ok(result) => export::report_xlsx(&r.name, &result),
                Err(e) => Err(e.to_string()),
            },
        };
        match outcome {
            Ok(bytes) => {
                let day = crate::time::local(Utc::now()).format("%d.%m.%Y");
                let file = format!("{} {day}.xlsx", file_name(&r.name));
                let sent = crate::telegram::notify::send_file_to_user(
                    &mut tx,
                    r.owner_id,
                    &file,
                    XLSX,
                    &bytes,
                    &format!("отчёт «{}» на {day}", r.name),
                )
                .await?;
                let body = if sent {
                    "Файл отправлен вам в Telegram через бота компании.".to_string()
                } else {
                    "Привяжите Telegram в профиле, чтобы получать отчёт файлом; пока он открыт по ссылке.".to_string()
                };
                crate::notifications::notify(&mut tx, r.owner_id, &format!("Отчёт «{}»", r.name), &body, Some(&link))
                    .await?;
            }
            Err(why) => {
                tracing::warn!(report = %r.id, error = %why, "scheduled report not built");
                crate::notifications::notify(
                    &mut tx,
                    r.owner_id,
                    &format!("Отчёт «{}» не построен", r.name),
                    &why,
                    Some(&link),
                )
                .await?;
            }
        }
        sqlx::query!(
            "update saved_reports set last_sent_at = now(), next_send_at = $2 where id = $1",
            r.id,
            next as _
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        handled += 1;
    }
    Ok(handled)
}

/// A report's name as a file name: no path separators or control characters.
fn file_name(name: &str) -> String {
    let s: String = name
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|'))
        .take(80)
        .collect();
    if s.trim().is_empty() {
        "Отчёт".into()
    } else {
        s.trim().to_string()
    }
}
