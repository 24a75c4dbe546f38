//! `/api/v1`: sales outreach — the accounts, campaigns (create, change,
//! start, pause, finish, add whom to write to), their dialogs (the list,
//! one with its history, writing as the account, taking it over, the
//! transcript). The same domain calls and matrix cells as the pages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use domain::outreach::campaigns::{self, CampaignAction, CampaignForm};
use domain::outreach::{inbox, roster, targets};

use super::{parse_id, ApiQuery, ApiResult};
use crate::routes::files::{generated, Generated};
use crate::routes::{ApiActor, ApiError, ApiJson};
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(accounts))
        .routes(routes!(list, create))
        .routes(routes!(one, update))
        .routes(routes!(status))
        .routes(routes!(add_targets))
        .routes(routes!(dialogs))
        .routes(routes!(dialog))
        .routes(routes!(write))
        .routes(routes!(take))
        .routes(routes!(stop))
        .routes(routes!(sync))
        .routes(routes!(export))
}

fn dialog_id(s: &str) -> Result<i64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "Диалог не найден"))
}

#[utoipa::path(
    get,
    path = "/outreach/accounts",
    summary = "Аккаунты Telegram для холодных рассылок",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn accounts(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(roster::accounts(&st.services.pool, &actor).await?).into_response())
}

#[utoipa::path(
    get,
    path = "/outreach/campaigns",
    summary = "Кампании с их ходом",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn list(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(campaigns::campaigns(&st.services.pool, &actor).await?).into_response())
}

#[utoipa::path(
    post,
    path = "/outreach/campaigns",
    summary = "Создать кампанию (черновиком)",
    request_body = CampaignForm,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn create(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(form): ApiJson<CampaignForm>,
) -> ApiResult {
    let id = campaigns::create_campaign(&st.services.pool, &actor, form).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

#[utoipa::path(
    get,
    path = "/outreach/campaigns/{id}",
    summary = "Кампания: ход, настройки, дни",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn one(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(campaigns::campaign(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

#[utoipa::path(
    put,
    path = "/outreach/campaigns/{id}",
    summary = "Изменить кампанию",
    request_body = CampaignForm,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn update(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<CampaignForm>,
) -> ApiResult {
    let id = parse_id(&id)?;
    campaigns::update_campaign(&st.services.pool, &actor, id, form).await?;
    Ok(Json(json!({ "id": id })).into_response())
}

#[utoipa::path(
    post,
    path = "/outreach/campaigns/{id}/{action}",
    summary = "Запустить (start), приостановить (pause) или завершить (finish) кампанию",
    responses((status = 204, description = "Готово"))
)]
async fn status(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((id, action)): Path<(String, String)>,
) -> ApiResult {
    let action = match action.as_str() {
        "start" => CampaignAction::Start,
        "pause" => CampaignAction::Pause,
        "finish" => CampaignAction::Finish,
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Нет такого метода API",
            ))
        }
    };
    campaigns::set_campaign_status(&st.services.pool, &actor, parse_id(&id)?, action).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Whom to write to: one `@username`, t.me link or phone a line (a name
/// after a comma), or `filter`, the lead list's query string, for CRM
/// clients with consent and a phone.
#[derive(Deserialize, utoipa::ToSchema)]
struct TargetsInput {
    #[serde(default)]
    text: String,
    #[serde(default)]
    filter: Option<String>,
}

#[utoipa::path(
    post,
    path = "/outreach/campaigns/{id}/targets",
    summary = "Добавить адресатов: списком или клиентов CRM по фильтру",
    request_body = TargetsInput,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn add_targets(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<TargetsInput>,
) -> ApiResult {
    let (pool, id) = (&st.services.pool, parse_id(&id)?);
    let out = match input.filter {
        Some(f) => targets::add_clients(pool, &actor, id, &f).await?,
        None => targets::add_pasted(pool, &actor, id, &input.text).await?,
    };
    Ok(Json(out).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DialogParams {
    campaign_id: Option<String>,
    /// queued, contacted, replied, interested, not_interested, stopped, failed;
    /// без него — все, кому уже писали.
    status: Option<String>,
    /// Часть username, телефона или имени.
    q: Option<String>,
    page: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/outreach/dialogs",
    summary = "Переписки",
    params(DialogParams),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn dialogs(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(p): ApiQuery<DialogParams>,
) -> ApiResult {
    let campaign_id = match p.campaign_id.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(parse_id(s)?),
        None => None,
    };
    let f = inbox::DialogFilter {
        campaign_id,
        status: p.status.clone().unwrap_or_default(),
        query: p.q.clone().unwrap_or_default(),
        page: p.page.unwrap_or(1),
    };
    Ok(Json(inbox::dialogs(&st.services.pool, &actor, f).await?).into_response())
}

#[utoipa::path(
    get,
    path = "/outreach/dialogs/{id}",
    summary = "Переписка с историей",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn dialog(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(inbox::dialog(&st.services.pool, &actor, dialog_id(&id)?).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct WriteInput {
    text: String,
}

#[utoipa::path(
    post,
    path = "/outreach/dialogs/{id}/messages",
    summary = "Написать в переписку от имени её аккаунта (ИИ перестаёт отвечать)",
    request_body = WriteInput,
    responses((status = 204, description = "Отправлено"))
)]
async fn write(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<WriteInput>,
) -> ApiResult {
    st.services.outreach.write(&actor, dialog_id(&id)?, &input.text).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/outreach/dialogs/{id}/take",
    summary = "Взять переписку себе: ИИ перестаёт отвечать, создаётся лид",
    responses((status = 204, description = "Готово"))
)]
async fn take(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    inbox::take_over(&st.services.pool, &actor, dialog_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/outreach/dialogs/{id}/stop",
    summary = "Остановить переписку: автоматически человеку больше не пишем",
    responses((status = 204, description = "Готово"))
)]
async fn stop(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    inbox::stop_dialog(&st.services.pool, &actor, dialog_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/outreach/dialogs/{id}/sync",
    summary = "Сверить переписку с Telegram: добавить сообщения, которых нет в CRM",
    responses((status = 200, description = "Сколько сообщений добавлено", body = serde_json::Value))
)]
async fn sync(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(st.services.outreach.sync_dialog(&actor, dialog_id(&id)?).await?).into_response())
}

#[utoipa::path(
    get,
    path = "/outreach/dialogs/{id}/export.txt",
    summary = "Переписка текстовым файлом",
    responses((status = 200, description = "Файл .txt", content_type = "text/plain"))
)]
async fn export(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let (name, text) = inbox::export_dialog(&st.services.pool, &actor, dialog_id(&id)?).await?;
    Ok(generated(Generated::Text, &name, text))
}
