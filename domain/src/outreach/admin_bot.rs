//! The outreach admin bot: the sales team's remote control in Telegram,
//! with the commands the team knew from its old tool (`/add_account`,
//! `/list_accounts`, `/disable_account`, `/start @username`, `/stop N`,
//! `/list`, `/view N`, `/export N`, `/export_all`).
//!
//! Its updates are stored like any bot's (webhook or long polling) and
//! taken here one at a time, in order per chat: who wrote is decided
//! first — a Telegram id from `ADMIN_TELEGRAM_ID` acts as the CRM's admin,
//! a CRM user who linked their Telegram acts as themselves and needs
//! `outreach:view` — and everyone else gets one polite refusal. Each
//! command then calls the same domain functions as the CRM's pages, which
//! check the rights again. The answers go out through the bot's queue in
//! the transaction that marks the update done; a code or password typed
//! into the chat is blotted out of the stored update there too.

use serde_json::{json, Value};
use uuid::Uuid;

use super::inbox::{self, DialogFilter};
use super::roster::{self, AccountAction, LoginInput};
use super::{Login, Outreach, OutreachError};
use crate::telegram::engine::OutMessage;
use crate::telegram::flow_model::html_escape;
use crate::types::Phone;
use crate::Actor;

/// The answer to anyone who is not on the sales team.
pub const REFUSAL: &str = "Извините, этот бот служебный: он отвечает только сотрудникам отдела продаж.";

/// Room for a message's text (Telegram's limit is 4096 characters).
const ROOM: usize = 3800;

/// A command as typed (`/view 12`, `/view@our_bot 12`), or plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Cancel,
    AddAccount(String),
    ListAccounts,
    DisableAccount(String),
    Start(String),
    Stop(String),
    List,
    View(String),
    Export(String),
    ExportAll,
    Unknown(String),
    Text(String),
}

impl Command {
    pub fn parse(text: &str) -> Command {
        let text = text.trim();
        let Some(rest) = text.strip_prefix('/') else {
            return Command::Text(text.to_string());
        };
        let (head, arg) = match rest.split_once(char::is_whitespace) {
            Some((h, a)) => (h, a.trim().to_string()),
            None => (rest, String::new()),
        };
        let name = head.split('@').next().unwrap_or("").to_lowercase();
        match name.as_str() {
            "start" if arg.is_empty() => Command::Help,
            "start" => Command::Start(arg),
            "help" => Command::Help,
            "cancel" => Command::Cancel,
            "add_account" => Command::AddAccount(arg),
            "list_accounts" => Command::ListAccounts,
            "disable_account" => Command::DisableAccount(arg),
            "stop" => Command::Stop(arg),
            "list" => Command::List,
            "view" => Command::View(arg),
            "export" => Command::Export(arg),
            "export_all" => Command::ExportAll,
            _ => Command::Unknown(name),
        }
    }
}

const HELP: &str = "Команды холодных рассылок:\n\
/add_account +79991234567 — добавить аккаунт (спрошу код и пароль)\n\
/list_accounts — аккаунты, лимиты и статусы\n\
/disable_account +79991234567 — отключить аккаунт\n\
/start @username — написать человеку первым в очереди кампании\n\
/stop N — остановить диалог №N\n\
/list — активные диалоги с номерами\n\
/view N — история диалога №N\n\
/export N — диалог №N файлом .txt\n\
/export_all — все диалоги архивом .zip\n\
/cancel — отменить ввод кода или пароля";

/// What the bot says back.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// HTML, escaped where it quotes anyone.
    Text(String),
    File {
        name: String,
        content_type: String,
        bytes: Vec<u8>,
        caption: String,
    },
}

/// A step of adding an account the chat is at.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Waiting {
    Code(String),
    Password(String),
}

/// What handling one update did besides the answers.
#[derive(Default)]
struct Handled {
    replies: Vec<Reply>,
    /// The chat's next step (`Some(None)`: none any more).
    waiting: Option<Option<Waiting>>,
    /// The message held a code or a password: blot it out of the update.
    secret: bool,
}

impl Handled {
    fn say(text: impl Into<String>) -> Self {
        Self {
            replies: vec![Reply::Text(text.into())],
            ..Default::default()
        }
    }
}

impl Outreach {
    /// Telegram ids the admin bot answers as the CRM's admin
    /// (`ADMIN_TELEGRAM_ID`).
    pub fn with_admins(mut self, ids: Vec<i64>) -> Self {
        self.admins = ids;
        self
    }

    /// Handles up to `limit` stored updates of the outreach admin bot, the
    /// oldest first and a chat's in order; how many were handled.
    pub async fn admin_bot_round(&self, limit: usize) -> Result<usize, sqlx::Error> {
        let mut done = 0;
        while done < limit {
            if !self.admin_bot_one().await? {
                break;
            }
            done += 1;
        }
        Ok(done)
    }

    async fn admin_bot_one(&self) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query!(
            r#"select u.id, u.bot_id, coalesce(u.chat_id, 0) as "chat_id!", u.payload
               from bot_updates u join bots b on b.id = u.bot_id
               where u.processed_at is null and b.enabled and b.is_outreach_admin
                 and not exists (select 1 from bot_updates p where p.bot_id = u.bot_id and p.chat_id = u.chat_id
                                 and p.processed_at is null and p.id < u.id)
               order by u.id limit 1
               for update of u skip locked"#
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let message = &row.payload["message"];
        let from = message["from"]["id"].as_i64();
        let text = message["text"].as_str().unwrap_or("");
        let private = message["chat"]["type"].as_str() == Some("private");
        let handled = match from {
            // Groups, channels, edits, buttons: not for this bot.
            Some(from) if private && row.chat_id != 0 => self.handle(row.bot_id, row.chat_id, from, text).await?,
            _ => Handled::default(),
        };
        for reply in &handled.replies {
            queue(&mut tx, row.bot_id, row.chat_id, reply).await?;
        }
        match handled.waiting {
            Some(Some(w)) => {
                let (step, phone) = match &w {
                    Waiting::Code(p) => ("code", p),
                    Waiting::Password(p) => ("password", p),
                };
                sqlx::query!(
                    "insert into outreach_bot_chats (bot_id, chat_id, step, phone) values ($1, $2, $3, $4)
                     on conflict (bot_id, chat_id) do update set step = $3, phone = $4, updated_at = now()",
                    row.bot_id,
                    row.chat_id,
                    step,
                    phone
                )
                .execute(&mut *tx)
                .await?;
            }
            Some(None) => {
                sqlx::query!(
                    "delete from outreach_bot_chats where bot_id = $1 and chat_id = $2",
                    row.bot_id,
                    row.chat_id
                )
                .execute(&mut *tx)
                .await?;
            }
            None => {}
        }
        if handled.secret {
            sqlx::query!(
                "update bot_updates set payload = jsonb_set(payload, '{message,text}', '\"•••\"') where id = $1",
                row.id
            )
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query!(
            "update bot_updates set processed_at = clock_timestamp() where id = $1",
            row.id
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The CRM user a Telegram id acts as: an `ADMIN_TELEGRAM_ID` as the
    /// admin who linked it or else the first admin; a linked user as
    /// themselves when they may see outreach. `None`: a stranger.
    async fn who(&self, tg_user_id: i64) -> Result<Option<Actor>, sqlx::Error> {
        let linked = sqlx::query!(
            "select u.id, u.role from bot_chats c join users u on u.id = c.user_id
             where c.tg_user_id = $1 and u.status = 'active' and u.blocked_at is null
             order by c.last_seen_at desc limit 1",
            tg_user_id
        )
        .fetch_optional(&self.pool)
        .await?;
        let user = if self.admins.contains(&tg_user_id) {
            match linked {
                Some(u) if u.role == "admin" => Some(u.id),
                _ => {
                    sqlx::query_scalar!(
                        "select id from users where role = 'admin' and status = 'active' and blocked_at is null
                         order by created_at limit 1"
                    )
                    .fetch_optional(&self.pool)
                    .await?
                }
            }
        } else {
            linked.map(|u| u.id)
        };
        let Some(user) = user else { return Ok(None) };
        let Some(actor) = crate::accounts::actor_by_id(&self.pool, user).await.ok().flatten() else {
            return Ok(None);
        };
        let may = crate::rbac::authorize(
            &self.pool,
            &actor,
            crate::rbac::Operation::Outreach(crate::rbac::OutreachOp::View),
            crate::rbac::Target::Collection,
        )
        .await
        .is_ok();
        Ok(may.then_some(actor))
    }

    async fn handle(&self, bot_id: Uuid, chat_id: i64, from: i64, text: &str) -> Result<Handled, sqlx::Error> {
        let Some(actor) = self.who(from).await? else {
            tracing::info!(tg_user_id = from, "the outreach admin bot refused a stranger");
            return Ok(Handled::say(REFUSAL));
        };
        let waiting = sqlx::query!(
            "select step, phone from outreach_bot_chats where bot_id = $1 and chat_id = $2",
            bot_id,
            chat_id
        )
        .fetch_optional(&self.pool)
        .await?
        .map(|w| match w.step.as_str() {
            "password" => Waiting::Password(w.phone),
            _ => Waiting::Code(w.phone),
        });
        let command = Command::parse(text);
        let out = match (command, waiting) {
            (Command::Cancel, w) => Ok(Handled {
                waiting: Some(None),
                ..Handled::say(if w.is_some() {
                    "Отменил: аккаунт не добавлен."
                } else {
                    "Нечего отменять."
                })
            }),
            (Command::Text(t), Some(Waiting::Code(phone))) => self.code_typed(&actor, &phone, &t).await,
            (Command::Text(t), Some(Waiting::Password(phone))) => self.password_typed(&actor, &phone, &t).await,
            (command, _) => self.command(&actor, command).await,
        };
        match out {
            Ok(h) => Ok(h),
            Err(OutreachError::Db(e)) => Err(e),
            Err(e) => Ok(Handled::say(html_escape(&say_error(&e)))),
        }
    }

    async fn command(&self, actor: &Actor, command: Command) -> Result<Handled, OutreachError> {
        Ok(match command {
            Command::Help | Command::Text(_) => Handled::say(HELP),
            Command::Unknown(name) => Handled::say(format!(
                "Не знаю команды /{}. Вот что я умею:\n\n{HELP}",
                html_escape(&name)
            )),
            Command::Cancel => Handled::say("Нечего отменять."),
            Command::AddAccount(phone) => {
                if phone.is_empty() {
                    return Ok(Handled::say("Укажите номер: /add_account +79991234567"));
                }
                let phone = Phone::parse(&phone).map_err(|m| OutreachError::invalid("phone", m))?;
                let step = self.login_step(actor, phone.as_str(), LoginInput::Phone, "").await?;
                self.login_said(phone.as_str(), step)
            }
            Command::ListAccounts => Handled::say(list_accounts(&roster::accounts(&self.pool, actor).await?)),
            Command::DisableAccount(raw) => {
                let phone = Phone::parse(&raw).map_err(|m| OutreachError::invalid("phone", m))?;
                let account = roster::accounts(&self.pool, actor)
                    .await?
                    .into_iter()
                    .find(|a| a.phone == phone.as_str())
                    .ok_or_else(|| OutreachError::invalid("phone", "Такого аккаунта нет: /list_accounts"))?;
                roster::set_account_status(&self.pool, actor, account.id, AccountAction::Disable).await?;
                Handled::say(format!(
                    "Аккаунт {} отключён: он больше не пишет. Включить снова — в CRM, раздел «Холодные рассылки» → «Аккаунты».",
                    phone.as_str()
                ))
            }
            Command::Start(handle) => {
                let (campaign, id) = super::targets::start_now(&self.pool, actor, &handle).await?;
                Handled::say(format!(
                    "Диалог №{id}: пишем {} первым в очереди кампании «{}». Сообщение уйдёт со свободного аккаунта в пределах его лимитов.",
                    html_escape(handle.trim()),
                    html_escape(&campaign)
                ))
            }
            Command::Stop(n) => {
                let id = number(&n, "/stop 12")?;
                inbox::stop_dialog(&self.pool, actor, id).await?;
                Handled::say(format!("Диалог №{id} остановлен: автоматически ему больше не пишем."))
            }
            Command::List => {
                let page = inbox::dialogs(
                    &self.pool,
                    actor,
                    DialogFilter {
                        status: "active".into(),
                        page: 1,
                        ..Default::default()
                    },
                )
                .await?;
                Handled::say(list_dialogs(&page.rows, page.total))
            }
            Command::View(n) => {
                let id = number(&n, "/view 12")?;
                Handled::say(view_dialog(&inbox::dialog(&self.pool, actor, id).await?))
            }
            Command::Export(n) => {
                let id = number(&n, "/export 12")?;
                let (name, text) = inbox::export_dialog(&self.pool, actor, id).await?;
                Handled {
                    replies: vec![Reply::File {
                        name,
                        content_type: "text/plain; charset=utf-8".into(),
                        bytes: text.into_bytes(),
                        caption: format!("Диалог №{id}"),
                    }],
                    ..Default::default()
                }
            }
            Command::ExportAll => {
                let (name, bytes) = inbox::export_all(&self.pool, actor).await?;
                Handled {
                    replies: vec![Reply::File {
                        name,
                        content_type: "application/zip".into(),
                        bytes,
                        caption: "Все диалоги, по файлу на каждый".into(),
                    }],
                    ..Default::default()
                }
            }
        })
    }

    async fn code_typed(&self, actor: &Actor, phone: &str, text: &str) -> Result<Handled, OutreachError> {
        // Telegram voids a login code sent through Telegram as it is, so
        // people type it with spaces or dashes: only the digits count.
        let code: String = text.chars().filter(char::is_ascii_digit).collect();
        let step = self.login_step(actor, phone, LoginInput::Code, &code).await;
        self.secret_step(phone, step)
    }

    async fn password_typed(&self, actor: &Actor, phone: &str, text: &str) -> Result<Handled, OutreachError> {
        let step = self.login_step(actor, phone, LoginInput::Password, text).await;
        self.secret_step(phone, step)
    }

    /// A step that took a code or a password: blotted out whatever came of it.
    fn secret_step(&self, phone: &str, step: Result<Login, OutreachError>) -> Result<Handled, OutreachError> {
        let mut out = match step {
            Ok(s) => self.login_said(phone, s),
            Err(OutreachError::Db(e)) => return Err(OutreachError::Db(e)),
            Err(e) => Handled::say(html_escape(&say_error(&e))),
        };
        out.secret = true;
        Ok(out)
    }

    /// What the bot says after a login step, and the chat's next step.
    fn login_said(&self, phone: &str, step: Login) -> Handled {
        match step {
            Login::WaitingCode => Handled {
                waiting: Some(Some(Waiting::Code(phone.into()))),
                ..Handled::say(format!(
                    "Telegram отправил код входа на {phone}. Пришлите его сюда, разделив цифры пробелами \
                     (например: 1 2 3 4 5) — код, пересланный как есть, Telegram сразу гасит. /cancel — отменить."
                ))
            },
            Login::WaitingPassword { hint } => Handled {
                waiting: Some(Some(Waiting::Password(phone.into()))),
                ..Handled::say(format!(
                    "На аккаунте включена двухэтапная проверка. Пришлите пароль{}. После входа удалите сообщение с паролем из чата.",
                    if hint.is_empty() {
                        String::new()
                    } else {
                        format!(" (подсказка: {})", html_escape(&hint))
                    }
                ))
            },
            Login::Active { .. } => Handled {
                waiting: Some(None),
                ..Handled::say(format!(
                    "Готово: аккаунт {phone} вошёл и работает. Лимиты и часы работы — /list_accounts или в CRM."
                ))
            },
        }
    }
}

/// Queues one answer in the bot's outgoing queue.
async fn queue(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    bot_id: Uuid,
    chat_id: i64,
    reply: &Reply,
) -> Result<(), sqlx::Error> {
    match reply {
        Reply::Text(text) => {
            crate::telegram::queue_out(tx, bot_id, chat_id, "text", &OutMessage::text(text), json!({}), None).await?;
        }
        Reply::File {
            name,
            content_type,
            bytes,
            caption,
        } => {
            crate::telegram::queue_file(
                tx,
                bot_id,
                chat_id,
                name,
                content_type,
                bytes,
                caption,
                None,
                Value::Null,
            )
            .await?;
        }
    }
    Ok(())
}

fn number(raw: &str, example: &str) -> Result<i64, OutreachError> {
    raw.trim()
        .trim_start_matches(['№', '#'])
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| OutreachError::invalid("number", &format!("Укажите номер диалога: {example}")))
}

/// An error as the chat reads it: the fields' messages when it has them.
fn say_error(e: &OutreachError) -> String {
    match e {
        OutreachError::Validation(fields) => fields.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("\n"),
        OutreachError::NotFound => "Не нашёл: проверьте номер (/list).".into(),
        OutreachError::Rbac(_) => "У вас нет права на это действие.".into(),
        other => other.to_string(),
    }
}

/// Cuts `lines` to fit a message, saying how many were left out.
fn fit(head: String, lines: impl IntoIterator<Item = String>, more: impl Fn(usize) -> String) -> String {
    let lines: Vec<String> = lines.into_iter().collect();
    let mut out = head;
    for (i, line) in lines.iter().enumerate() {
        if out.chars().count() + line.chars().count() + 1 > ROOM {
            out.push('\n');
            out.push_str(&more(lines.len() - i));
            return out;
        }
        out.push('\n');
        out.push_str(line);
    }
    out
}

fn short(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}…", flat.chars().take(max).collect::<String>())
    }
}

fn list_accounts(rows: &[roster::AccountRow]) -> String {
    if rows.is_empty() {
        return "Аккаунтов пока нет: /add_account +79991234567".into();
    }
    fit(
        format!("Аккаунты ({}):", rows.len()),
        rows.iter().map(|a| {
            let mut line = format!(
                "{}{} — {}, сегодня {}/{}, пауза {} с, {}–{}",
                a.phone,
                if a.username.is_empty() {
                    String::new()
                } else {
                    format!(" (@{})", html_escape(&a.username))
                },
                roster::status_ru(&a.status),
                a.sent_today,
                a.daily_cap,
                a.min_delay_s,
                a.work_from,
                a.work_to
            );
            if let Some(until) = a.waits_until {
                line.push_str(&format!(", FLOOD_WAIT до {}", crate::time::datetime(until)));
            }
            if !a.last_error.is_empty() {
                line.push_str(&format!(" · {}", html_escape(&short(&a.last_error, 80))));
            }
            line
        }),
        |n| format!("…и ещё {n} — в CRM"),
    )
}

fn list_dialogs(rows: &[inbox::DialogRow], total: i64) -> String {
    if rows.is_empty() {
        return "Активных диалогов нет.".into();
    }
    // Left out: the rows that didn't fit the message and those past the page.
    let beyond = (total - rows.len() as i64).max(0) as usize;
    let mut text = fit(
        format!("Активные диалоги ({total}):"),
        rows.iter().map(|d| {
            format!(
                "№{} {}{} — {}{}",
                d.id,
                html_escape(&d.handle),
                if d.name.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", html_escape(&d.name))
                },
                inbox::status_ru(&d.status),
                if d.last_text.is_empty() {
                    String::new()
                } else {
                    format!(": «{}»", html_escape(&short(&d.last_text, 60)))
                }
            )
        }),
        |n| format!("…и ещё {}: /export_all или CRM", n + beyond),
    );
    if beyond > 0 && !text.contains("…и ещё") {
        text.push_str(&format!("\n…и ещё {beyond}: /export_all или CRM"));
    }
    text.push_str("\n\n/view N — история, /stop N — остановить");
    text
}

/// The dialog's header and as many of its latest messages as fit.
fn view_dialog(d: &inbox::Dialog) -> String {
    let r = &d.row;
    let mut head = format!(
        "Диалог №{} · {}{} · {}\nКампания «{}», аккаунт {}",
        r.id,
        html_escape(&r.handle),
        if r.name.is_empty() {
            String::new()
        } else {
            format!(" ({})", html_escape(&r.name))
        },
        inbox::status_ru(&r.status),
        html_escape(&r.campaign),
        if r.account.is_empty() { "—" } else { &r.account },
    );
    if let Some(n) = r.lead_number {
        head.push_str(&format!("\nЛид №{n}"));
    }
    if !r.reason.is_empty() {
        head.push_str(&format!("\n{}", html_escape(&r.reason)));
    }
    if d.messages.is_empty() {
        head.push_str("\n\nСообщений пока нет.");
        return head;
    }
    let lines: Vec<String> = d
        .messages
        .iter()
        .map(|m| {
            let who = if m.direction == "in" {
                "←".to_string()
            } else if m.author.is_empty() {
                "→".to_string()
            } else {
                format!("→ {}", html_escape(&m.author))
            };
            format!(
                "<b>{}</b> {who}\n{}",
                crate::time::datetime(m.at),
                html_escape(&short(&m.text, 1000))
            )
        })
        .collect();
    // The latest messages matter most: fill from the end.
    let mut kept: Vec<&String> = vec![];
    let mut size = head.chars().count() + 40;
    for line in lines.iter().rev() {
        size += line.chars().count() + 2;
        if size > ROOM {
            break;
        }
        kept.push(line);
    }
    kept.reverse();
    let skipped = lines.len() - kept.len();
    head.push('\n');
    if skipped > 0 {
        head.push_str(&format!("\n…ранние сообщения ({skipped}) — в /export {}", r.id));
    }
    for line in kept {
        head.push_str("\n\n");
        head.push_str(line);
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_as_the_team_types_them() {
        assert_eq!(Command::parse("/start"), Command::Help);
        assert_eq!(Command::parse("/start @ivan"), Command::Start("@ivan".into()));
        assert_eq!(Command::parse("/view@mak_sales_bot 12"), Command::View("12".into()));
        assert_eq!(Command::parse("/LIST"), Command::List);
        assert_eq!(Command::parse("/export_all"), Command::ExportAll);
        assert_eq!(
            Command::parse("/add_account  +7 999 123-45-67 "),
            Command::AddAccount("+7 999 123-45-67".into())
        );
        assert_eq!(Command::parse("/frobnicate"), Command::Unknown("frobnicate".into()));
        assert_eq!(Command::parse(" 1 2 3 4 5 "), Command::Text("1 2 3 4 5".into()));
    }

    #[test]
    fn a_long_page_of_dialogs_says_once_how_many_are_left() {
        let row = |id: i64| inbox::DialogRow {
            id,
            campaign_id: Uuid::nil(),
            campaign: "Ипотека".into(),
            handle: format!("@person_{id}"),
            name: "Имя".into(),
            status: "replied".into(),
            reason: String::new(),
            account: "+79990001001".into(),
            messages: 3,
            last_text: "Расскажите подробнее, пожалуйста, какие условия и сроки".into(),
            last_at: None,
            lead_id: None,
            lead_number: None,
        };
        let rows: Vec<_> = (1..=50).map(row).collect();
        let text = list_dialogs(&rows, 120);
        assert_eq!(text.matches("…и ещё").count(), 1, "{text}");
        let shown = text.lines().filter(|l| l.starts_with('№')).count();
        assert!(text.contains(&format!("…и ещё {}:", 120 - shown)), "{text}");
        let short = list_dialogs(&rows[..2], 5);
        assert!(short.contains("…и ещё 3:"), "{short}");
    }

    #[test]
    fn dialog_numbers_are_checked() {
        assert_eq!(number("12", "/view 12").unwrap(), 12);
        assert_eq!(number("№7", "/view 12").unwrap(), 7);
        assert!(number("", "/view 12").is_err());
        assert!(number("-3", "/view 12").is_err());
        assert!(number("abc", "/view 12").is_err());
    }

    #[test]
    fn long_lists_are_cut_to_a_message_and_say_how_many_are_left() {
        let lines = (0..500).map(|i| format!("строка номер {i} с каким-то текстом"));
        let text = fit("Шапка".into(), lines, |n| format!("…и ещё {n}"));
        assert!(text.chars().count() <= ROOM + 20);
        assert!(text.contains("…и ещё"));
        let left: usize = text.rsplit("…и ещё ").next().unwrap().parse().unwrap();
        assert_eq!(left + text.lines().count() - 2, 500);
    }
}
