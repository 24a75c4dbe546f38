//! AI assistant bots («Помогатор»): a bot's users ask an AI, paying with a
//! free trial, credits bought in Telegram Stars or a subscription.
//!
//! Built so far: each user's access and what a question costs
//! (`wallet.rs`), the plans a bot sells (`plans.rs`) and the assistant
//! mode's settings with the provider and the versioned prompt
//! (`settings.rs`), the worker that answers paid questions
//! (`answering.rs`), the bot's side of it (`chat.rs`), the payments and
//! their refunds (`payments.rs`), what the CRM reads about a bot's users,
//! questions and takings (`insight.rs`) and its credits ledger
//! (`ledger.rs`).

mod answering;
mod chat;
mod insight;
mod ledger;
mod payments;
mod plans;
mod preferences;
mod settings;
mod wallet;

pub use answering::{answer_pending, run_answering, AnswerReport, NO_PROVIDER, SORRY};
pub use chat::{check_checkout_in, describe, payload_of, respond_in, take_payment_in, Handled, Reply};
pub use insight::{
    ai_log, assistant_stats, cost_number, cost_text, list_users, log_csv, user_standing, DayStats, LogFilter, LogLine,
    StatsView, UserLine,
};
pub use ledger::{credit_ledger, ledger_csv, reason_label, Ledger, LedgerFilter, LedgerLine, REASONS};
pub use payments::{list_payments, refund_payment, PaymentView};
pub use plans::{list_plans, save_plan, PlanInput, PlanKind, PlanView};
pub use preferences::{Preferences, Style};
pub use settings::{
    ai_provider_of, assistant_settings, provider_of, save_assistant_settings, AssistantSettings, SettingsInput,
    DEFAULT_PROMPT,
};
pub use wallet::{
    activate_trial, adjust_credits, credit_payment_in, give_back, give_back_in, record_answer_in, standing,
    take_question_in, Admission, PaidWith, Standing,
};

use crate::accounts::FieldError;
use crate::error::{DomainError, ErrorCode};
use crate::rbac::RbacError;

#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    #[error("Проверьте поля формы")]
    Validation(Vec<FieldError>),
    #[error("Не найдено")]
    NotFound,
    #[error("Этот бот не работает как ИИ-помощник")]
    NotAnAssistant,
    #[error("Бесплатный пробный период у этого бота не предусмотрен")]
    NoTrial,
    #[error("Пробный период уже был активирован")]
    TrialUsed,
    /// Nothing pays for a question: offer the trial (if unused) or the plans.
    #[error("Вопросы закончились: выберите тариф")]
    NoAccess { trial_available: bool },
    #[error("Дневной лимит вопросов по подписке исчерпан")]
    DailyLimit,
    #[error("Месячный лимит вопросов по подписке исчерпан")]
    MonthlyLimit,
    #[error("Столько вопросов на балансе нет")]
    NotEnoughCredits,
    #[error("Этот платёж уже возвращён")]
    AlreadyRefunded,
    /// Telegram refused or could not be reached; nothing changed here.
    #[error("{0}")]
    Telegram(String),
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error("internal database error")]
    Db(#[from] sqlx::Error),
}

impl AssistantError {
    pub(crate) fn invalid(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

/// Checks `op` on one bot for the actor (`NotFound` when there is no such bot).
pub(crate) async fn authorize_on_bot(
    pool: &crate::PgPool,
    actor: &crate::Actor,
    op: crate::rbac::Operation,
    bot: uuid::Uuid,
) -> Result<(), AssistantError> {
    let target = crate::telegram::target_of_bot(pool, bot)
        .await?
        .ok_or(AssistantError::NotFound)?;
    crate::rbac::authorize(pool, actor, op, target).await?;
    Ok(())
}

impl DomainError for AssistantError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::Validation,
            Self::NotFound | Self::NotAnAssistant => ErrorCode::NotFound,
            Self::NoTrial | Self::TrialUsed | Self::AlreadyRefunded => ErrorCode::Conflict,
            Self::Telegram(_) => ErrorCode::Unavailable,
            Self::NoAccess { .. } | Self::NotEnoughCredits => ErrorCode::InsufficientFunds,
            Self::DailyLimit | Self::MonthlyLimit => ErrorCode::LimitReached,
            Self::Rbac(e) => e.code(),
            Self::Db(_) => ErrorCode::Internal,
        }
    }
    fn fields(&self) -> &[FieldError] {
        match self {
            Self::Validation(f) => f,
            _ => &[],
        }
    }
    fn database(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Db(e) => Some(e),
            Self::Rbac(e) => e.database(),
            _ => None,
        }
    }
}
