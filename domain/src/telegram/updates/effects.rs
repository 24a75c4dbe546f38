//! What a flow does to the CRM (leads, accounts, tags, handoffs), inside
//! the update's transaction.

use uuid::Uuid;

use crate::telegram::engine::{self, Effects, LeadRequest};
use crate::telegram::Telegram;

use super::*;

/// The CRM side of a flow: leads go through the duplicate control, a
/// registration is written in the update's transaction (with the chat's link
/// to the new account).
pub(super) struct CrmEffects<'a, 't> {
    pub(super) tg: &'a Telegram,
    pub(super) tx: &'a mut Tx<'t>,
    /// The bot's flags and owner, read once per batch.
    pub(super) bot: &'a BotCtx,
    pub(super) bot_id: Uuid,
    pub(super) chat_id: i64,
    pub(super) linked_user: Option<Uuid>,
    pub(super) created: Option<Uuid>,
}

impl Effects for CrmEffects<'_, '_> {
    async fn ask_ai(&mut self, ask: engine::AiAsk) -> engine::AiReply {
        // Queued with the update: the AI is asked outside the transaction.
        match crate::telegram::flow_ai::queue_ask_in(self.tx, self.bot_id, self.chat_id, &ask).await {
            Ok(id) => engine::AiReply::Queued(id),
            Err(e) => {
                tracing::warn!(bot = %self.bot_id, error = %e, "flow AI: the ask was not queued");
                engine::AiReply::Failed
            }
        }
    }

    async fn register_partner(&mut self, a: engine::RegistrationAnswers) -> Result<(), String> {
        if !self.bot.company {
            return Err("Регистрация партнёров открыта в боте компании".into());
        }
        if self.linked_user.is_some() {
            return Err("Этот Telegram уже привязан к аккаунту. Вход в кабинет — /login".into());
        }
        let lower = |s: &str| s.trim().to_lowercase();
        let role = match lower(&a.role).as_str() {
            "партнёр" | "партнер" | "partner" => "partner",
            "франчайзи" | "franchisee" => "franchisee",
            _ => "",
        };
        let legal_form = match lower(&a.legal_form).as_str() {
            "ип" => "ip".to_string(),
            "ооо" => "ooo".to_string(),
            "самозанятый" => "self_employed".to_string(),
            "физлицо" | "физическое лицо" => "individual".to_string(),
            other => other.to_string(),
        };
        let referral_code = match lower(&a.referral_code).as_str() {
            "нет" | "-" | "no" | "не знаю" => String::new(),
            _ => a.referral_code.trim().to_string(),
        };
        let input = crate::accounts::Registration {
            full_name: a.full_name,
            email: a.email,
            password: String::new(),
            phone: a.phone,
            city: a.city,
            niche: a.niche,
            legal_form,
            inn: a.inn,
            company_name: a.company_name,
            referral_code,
            requested_role: role.into(),
            ip: None,
            passwordless: true,
        };
        let failed = || "Не удалось принять анкету, попробуйте позже".to_string();
        let mut sp = sqlx::Connection::begin(&mut **self.tx).await.map_err(|_| failed())?;
        match crate::accounts::register_in(&mut sp, input).await {
            Ok(user_id) => {
                let linked = sqlx::query!(
                    "update bot_chats set user_id = $3 where bot_id = $1 and chat_id = $2",
                    self.bot_id,
                    self.chat_id,
                    user_id
                )
                .execute(&mut *sp)
                .await;
                match linked {
                    Ok(_) => {
                        sp.commit().await.map_err(|_| failed())?;
                        self.linked_user = Some(user_id);
                        Ok(())
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "linking a registration to its chat failed");
                        let _ = sp.rollback().await;
                        Err(failed())
                    }
                }
            }
            Err(e) => {
                let _ = sp.rollback().await;
                Err(match e {
                    crate::accounts::AccountsError::Validation(fields) => format!(
                        "Анкету не приняли: {}. Начать заново — /register",
                        fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; ")
                    ),
                    crate::accounts::AccountsError::RegistrationClosed => {
                        "Регистрация сейчас закрыта. Напишите нам здесь — ответит менеджер.".into()
                    }
                    e => {
                        tracing::warn!(error = ?e, "registration from a bot failed");
                        failed()
                    }
                })
            }
        }
    }

    async fn create_lead(&mut self, req: LeadRequest) -> Result<i64, String> {
        let pool = &self.tg.pool;
        // A linked partner is the lead's source; otherwise the bot's owner
        // brings it in (into the unsorted inbox).
        let acting = match self.linked_user {
            Some(u) => Some(u),
            None if self.bot.company => {
                return Err(
                    "Чтобы передавать заявки, привяжите Telegram в личном кабинете партнёра \
                     или зарегистрируйтесь — /register"
                        .into(),
                )
            }
            None => self.bot.owner.0,
        };
        let Some(actor) = (match acting {
            Some(id) => crate::accounts::actor_by_id(pool, id).await.ok().flatten(),
            None => None,
        }) else {
            return Err("Заявку сейчас нельзя принять: бот не привязан к сотруднику".into());
        };
        let product_id = if req.product.trim().is_empty() {
            None
        } else {
            sqlx::query_scalar!(
                "select id from dictionary_items where kind = 'product' and active and lower(name) = lower($1)",
                req.product.trim()
            )
            .fetch_optional(pool)
            .await
            .ok()
            .flatten()
        };
        // Consent is what the flow asked, never assumed: «нет» refuses the
        // lead; a flow that didn't ask records none.
        let consent = match req.consent.as_deref().map(|a| a.trim().to_lowercase()) {
            Some(a) if matches!(a.as_str(), "да" | "согласен" | "согласна" | "yes") => true,
            Some(_) => {
                return Err("Без согласия клиента на обработку персональных данных заявку принять нельзя".into())
            }
            None => false,
        };
        let mut input = crate::leads::NewLead {
            client_name: req.name,
            phone: req.phone,
            email: String::new(),
            product_id,
            amount: req.amount,
            source_id: None,
            comment: "Заявка из Telegram-бота".into(),
            stage_id: req.stage_id,
            attach_to_client: None,
            create_anyway: false,
            consent,
            origin: "bot".into(),
            extra: Default::default(),
            ..Default::default()
        };
        for _ in 0..2 {
            // In the update's own transaction (under a savepoint, so a refusal
            // leaves the rest of the update intact): a batch retried after a
            // failure can't create the lead twice.
            let mut sp = match sqlx::Connection::begin(&mut **self.tx).await {
                Ok(sp) => sp,
                Err(e) => {
                    tracing::warn!(error = ?e, "lead from a bot failed");
                    return Err("Не удалось принять заявку, попробуйте позже".into());
                }
            };
            let result = crate::leads::create_lead_in(&mut sp, pool, &actor, input.clone()).await;
            let saved = match &result {
                Ok(_) => sp.commit().await,
                Err(_) => sp.rollback().await,
            };
            if let Err(e) = saved {
                tracing::warn!(error = ?e, "lead from a bot failed");
                return Err("Не удалось принять заявку, попробуйте позже".into());
            }
            match result {
                Ok(
                    crate::leads::CreateOutcome::Created { id, number, .. }
                    | crate::leads::CreateOutcome::SentForReview { id, number },
                ) => {
                    self.created = Some(id);
                    return Ok(number);
                }
                // A known client: the new request joins their card.
                Ok(crate::leads::CreateOutcome::Duplicates(m)) => {
                    input.attach_to_client = m.first().map(|m| m.client_id);
                }
                Err(crate::leads::LeadsError::Validation(fields)) => {
                    return Err(fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; "))
                }
                Err(crate::leads::LeadsError::Rbac(_)) => {
                    return Err("Заявки принимаются, когда ваша регистрация одобрена".into());
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "lead from a bot failed");
                    return Err("Не удалось принять заявку, попробуйте позже".into());
                }
            }
        }
        Err("Не удалось принять заявку, попробуйте позже".into())
    }
}
