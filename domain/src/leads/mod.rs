//! Leads and clients: dictionaries, pipelines, duplicate-controlled
//! creation, the list, the card, stage moves and the kanban board.

mod board;
mod bulk;
mod card;
mod client;
mod client_panel;
mod create;
mod dictionaries;
mod export;
mod fields;
mod files;
mod filter;
pub(crate) use filter::ResolvedCondition;
mod list;
mod merge;
mod stages;
mod views;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::FieldError;
use crate::error::{DomainError, ErrorCode};
use crate::rbac::{self, RbacError, Target};
use crate::types::Money;
use crate::Actor;

pub use board::{board, Board, BoardColumn};
pub use bulk::{bulk_insert_in, bulk_placement, BulkInput, BulkLead, BulkOutcome, BulkPlacement, OnDuplicate};
pub(crate) use card::owners_of;
pub use card::{
    add_comment, attach_to_deal, delete_lead, get_lead, move_lead_to_stage, move_lead_to_stage_in,
    move_lead_with_reason, update_lead, update_lead_in, LeadCard, LeadUpdate, TimelineItem,
};
pub use client::{edit_client, get_client, list_clients, ClientCard, ClientContacts, ClientRow};
pub use client_panel::{client_panel, ClientDeal, ClientEvent, ClientPanel, ClientStats};
pub(crate) use create::announce_change;
pub use create::{create_lead, create_lead_in, ClientMatch, CreateOutcome, NewLead, CONSENT_TEXT_VERSION};
pub use dictionaries::{
    dictionaries, may_see_lead_settings, people_options, pipelines, DictItem, Dictionaries, Pipeline, Stage,
};
pub use export::{export_header, export_leads, mask_email, mask_name, mask_phone, spreadsheet_text, ExportRow};
pub use fields::{
    add_custom_field, add_dictionary_item, custom_fields, dictionary_entries, display_value, edit_custom_field,
    edit_dictionary_item, ensure_index, set_field_public_on_lots, CustomField, DictionaryEdit, DictionaryEntry,
    FieldKind, DICTIONARY_KINDS,
};
pub(crate) use fields::{field_value, is_field_key};
pub use files::{attach_file, lead_files, lead_id_by_number, open_file, LeadFile, Storage, MAX_FILE_BYTES};
pub use filter::{CustomCondition, LeadFilter, LeadSort};
pub use list::{count_cap, list_leads, list_rows, matching_ids, COUNT_CAP, SEARCH_COUNT_CAP};
pub(crate) use list::{custom_conditions, push_filters, push_filters_part, scope_parts};
pub use merge::{merge_clients, possible_duplicates, MergeInput, PossibleDuplicate};
pub use stages::{add_pipeline, add_stage, delete_stage, rename_stage, reorder_stage};
pub use views::{delete_view, list_views, save_view, SavedView, ViewInput, LIST_COLUMNS};

#[derive(Debug, thiserror::Error)]
pub enum LeadsError {
    #[error("Проверьте поля формы")]
    Validation(Vec<FieldError>),
    #[error("{}", .0.message())]
    NotFound(Missing),
    #[error("В воронке должен остаться этап «{}»", if *.0 { "успех" } else { "отказ" })]
    LastClosingStage(/** won */ bool),
    #[error("Должен остаться хотя бы один статус")]
    LastStatus,
    #[error("Партнёр не меняет заявку после отправки — напишите комментарий, менеджер увидит его")]
    PartnerEditsNothing,
    #[error("Ответственного и источник лида меняет офис")]
    OfficeAssigns,
    #[error("Этап лида меняет менеджер")]
    StageSetByStaff,
    #[error("Лид на аукционе: ответственного и статус можно менять после торгов или отмены лота")]
    OnAuction,
    #[error("Прикрепить к сделке можно только лид из «Неразобранного»")]
    NotUnsorted,
    #[error("Один из клиентов уже объединён")]
    AlreadyMerged,
    #[error("Выберите непустой файл")]
    EmptyFile,
    #[error("Файл больше 20 МБ")]
    FileTooLarge,
    /// A service the operation needs (file storage) is down or not set up.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error("internal database error")]
    Db(#[from] sqlx::Error),
}

/// What a `NotFound` could not find: each says so in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Lead,
    Client,
    Stage,
    Pipeline,
    DictionaryItem,
    Field,
    View,
    File,
    User,
}

impl Missing {
    pub fn message(self) -> &'static str {
        match self {
            Self::Lead => "Лид не найден",
            Self::Client => "Клиент не найден",
            Self::Stage => "Этап не найден",
            Self::Pipeline => "Воронка не найдена",
            Self::DictionaryItem => "Значение справочника не найдено",
            Self::Field => "Поле не найдено",
            Self::View => "Сохранённый вид не найден",
            Self::File => "Файл не найден",
            Self::User => "Пользователь не найден",
        }
    }
}

impl DomainError for LeadsError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) | Self::EmptyFile => ErrorCode::Validation,
            Self::FileTooLarge => ErrorCode::TooLarge,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::LastClosingStage(_)
            | Self::LastStatus
            | Self::PartnerEditsNothing
            | Self::OfficeAssigns
            | Self::StageSetByStaff
            | Self::NotUnsorted
            | Self::OnAuction
            | Self::AlreadyMerged => ErrorCode::Conflict,
            Self::Unavailable(_) => ErrorCode::Unavailable,
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

impl LeadsError {
    pub(crate) fn field(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

/// A lead as lists and boards show it.
#[derive(Debug, Clone, Serialize)]
pub struct LeadSummary {
    pub id: Uuid,
    pub number: i64,
    pub client_id: Uuid,
    pub client_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub product: Option<String>,
    pub amount: Option<Money>,
    pub source: Option<String>,
    pub method: Option<String>,
    pub status: Option<String>,
    pub pipeline_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub stage_name: Option<String>,
    pub stage_color: Option<String>,
    pub unsorted: bool,
    pub responsible_name: Option<String>,
    pub partner_name: Option<String>,
    pub tags: Vec<String>,
    /// Extra field values by key (`cf_N`).
    pub extra: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl LeadSummary {
    /// The same lead with the client's personal data masked (see [`masks_personal_data`]).
    pub(crate) fn masked(mut self) -> Self {
        self.client_name = mask_name(&self.client_name);
        self.phone = self.phone.as_deref().map(mask_phone);
        self.email = self.email.as_deref().map(mask_email);
        self
    }
}

/// The personal-data rule, applied on every path that shows a lead (list,
/// board, card, export, API): whoever may see leads but not clients
/// (clients:view = none) sees names, phones and emails masked.
pub(crate) async fn masks_personal_data(pool: &PgPool, actor: &Actor) -> Result<bool, LeadsError> {
    Ok(rbac::scope_for(
        pool,
        actor.role,
        crate::types::Resource::Clients,
        crate::types::Action::View,
    )
    .await?
        == crate::types::Scope::None)
}

/// Who a lead belongs to, for scope checks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeadOwners {
    pub responsible_id: Option<Uuid>,
    pub partner_id: Option<Uuid>,
    pub franchisee_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub team_id: Option<Uuid>,
}

impl LeadOwners {
    /// Everyone the lead belongs to, each once.
    pub fn people(self) -> Vec<Uuid> {
        let mut list: Vec<Uuid> = [
            self.responsible_id,
            self.partner_id,
            self.franchisee_id,
            self.created_by,
        ]
        .into_iter()
        .flatten()
        .collect();
        list.sort();
        list.dedup();
        list
    }

    pub fn target(self) -> Target {
        Target::Record {
            owners: self.people(),
            team: self.team_id,
        }
    }
}
