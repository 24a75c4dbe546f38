//! The permission matrix (role × resource × action → scope) and the single
//! enforcement point every guarded operation goes through.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, RwLock};

use serde::Serialize;
use sqlx::PgPool;
use strum::{EnumIter, IntoEnumIterator};
use uuid::Uuid;

use crate::error::ErrorCode;
use crate::types::{Action, Resource, Role, Scope};
use crate::{audit, realtime, Actor};

#[derive(Debug, thiserror::Error)]
pub enum RbacError {
    #[error("Нет доступа")]
    NotAllowed,
    #[error("Для вашей роли обязательна двухфакторная аутентификация: включите её в настройках безопасности")]
    TwoFactorRequired,
    #[error("Нет записи в матрице прав для {0}")]
    MissingEntry(String),
    #[error("Некорректное значение: {0}")]
    Invalid(String),
    /// The API token was not granted this (its scopes).
    #[error("У API-токена нет права «{0}»: выпустите токен с этим правом")]
    TokenScope(String),
    #[error("internal database error")]
    Db(#[from] sqlx::Error),
}

impl crate::error::DomainError for RbacError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::NotAllowed => ErrorCode::Forbidden,
            Self::TwoFactorRequired => ErrorCode::TwoFactorRequired,
            Self::Invalid(_) => ErrorCode::Validation,
            Self::TokenScope(_) => ErrorCode::TokenScope,
            Self::MissingEntry(_) | Self::Db(_) => ErrorCode::Internal,
        }
    }
    fn database(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Db(e) => Some(e),
            _ => None,
        }
    }
}

/// Every operation that is checked against the matrix, grouped by the
/// feature it belongs to (each group decides its cells in one place).
/// Adding a variant forces the permission walk test to cover it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Operation {
    Users(UserOp),
    Settings(SettingsOp),
    Leads(LeadOp),
    Clients(ClientOp),
    Bots(BotOp),
    /// The inbox: conversations of the bots (not the bots' settings).
    Inbox(InboxOp),
    /// The lead auction: lots, bids, balances, returns.
    Auction(AuctionOp),
    /// Counterparties' company cards (partners and franchisee offices).
    Companies(CompanyOp),
    /// Grades, commissions, deal issues and accruals.
    Commissions(CommissionOp),
    /// A bot's broadcasts, segments and contact imports.
    Broadcasts(BroadcastOp),
    /// Sales outreach from Telegram user accounts: accounts, campaigns,
    /// their dialogs.
    Outreach(OutreachOp),
    /// Reports and dashboards (what they count is the lead list's scope).
    Reports(ReportOp),
}

/// People: the list, a record, invitations, approval, roles, blocking,
/// tokens, the own profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize)]
pub enum UserOp {
    List,
    View,
    Export,
    Invite,
    Approve,
    Reject,
    ChangeRole,
    Block,
    Unblock,
    IssueToken,
    RevokeToken,
    EditProfile,
}

/// The company's settings: the matrix, policies, company settings, the
/// audit log, pipelines, dictionaries, extra fields, shared views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize)]
pub enum SettingsOp {
    ViewPermissions,
    EditPermissions,
    EditSecurityPolicy,
    /// Company-wide settings (the time zone).
    EditCompany,
    ViewAudit,
    EditPipelines,
    EditDictionaries,
    EditCustomFields,
    ShareView,
    /// Document templates (acts, contracts).
    EditTemplates,
    /// Integrations: website forms (later amoCRM, webhooks).
    ManageIntegrations,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize)]
pub enum LeadOp {
    List,
    View,
    Create,
    Edit,
    Delete,
    Export,
    Import,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize)]
pub enum ClientOp {
    View,
    Edit,
    Merge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize)]
pub enum BotOp {
    View,
    Connect,
    Edit,
    Delete,
    MarkCompanyBot,
}

/// A counterparty's company card belongs to its people, so it follows the
/// rights over them: seeing the person's record shows the card, editing it
/// edits the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize)]
pub enum CompanyOp {
    List,
    View,
    Edit,
}

/// Partners' grades and commissions. Seeing the grades, the table and
/// one's own accruals is a settlement view; changing the table, recording a
/// deal's issue (which accrues money) and recomputing grades is settling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize)]
pub enum CommissionOp {
    ViewGrades,
    ViewAccruals,
    ManageGrades,
    RecordIssue,
    /// Settlement periods, their acts, payments and documents.
    ViewSettlements,
    /// Uploading the signed scan of an act: the partner (their own) or HQ.
    SignAct,
    IssueAct,
    RecordPayment,
}

/// The lead auction. A franchisee company's balance and bids are the
/// company's (its team's); lots are seen masked by everyone who may view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize)]
pub enum AuctionOp {
    ViewLots,
    Bid,
    /// Put leads up, cancel lots, set the policy and the companies' limits.
    ManageLots,
    /// A company's balance and ledger.
    ViewBalance,
    /// Deposits and corrections.
    ManageBalances,
    /// The buyer asks to return a lead.
    RequestReturn,
    ModerateReturns,
}

/// Broadcasts of a bot, checked against the bot's owner. Drafting and
/// scheduling is `create`; starting, pausing and cancelling is `send`; a
/// broadcast over the company's threshold needs `approve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize)]
pub enum BroadcastOp {
    View,
    Create,
    Send,
    Approve,
    Export,
}

/// Outreach, checked against a campaign's author and manager. Seeing
/// campaigns and dialogs is `view`; adding accounts, creating, starting and
/// pausing campaigns is `edit` (`Manage`); writing in a dialog as its
/// account or taking it over is `send`; a dialog's transcript is `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize)]
pub enum OutreachOp {
    View,
    Manage,
    Send,
    Export,
}

/// Reports: running one (and saving it for oneself) is `view`; sharing a
/// saved report with roles publishes it (`create`); files are `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize)]
pub enum ReportOp {
    View,
    Share,
    Export,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize)]
pub enum InboxOp {
    View,
    Reply,
}

impl Operation {
    /// The matrix cell an operation is decided by.
    pub fn permission(self) -> (Resource, Action) {
        use Action::*;
        match self {
            Operation::Users(op) => (
                Resource::Users,
                match op {
                    UserOp::List | UserOp::View => View,
                    UserOp::Export => Export,
                    UserOp::Invite => Create,
                    UserOp::Approve | UserOp::Reject => Approve,
                    UserOp::ChangeRole
                    | UserOp::Block
                    | UserOp::Unblock
                    | UserOp::IssueToken
                    | UserOp::RevokeToken
                    | UserOp::EditProfile => Edit,
                },
            ),
            Operation::Settings(op) => match op {
                SettingsOp::ViewPermissions => (Resource::Settings, View),
                SettingsOp::ViewAudit => (Resource::Audit, View),
                SettingsOp::EditPermissions
                | SettingsOp::EditSecurityPolicy
                | SettingsOp::EditCompany
                | SettingsOp::EditPipelines
                | SettingsOp::EditDictionaries
                | SettingsOp::EditCustomFields
                | SettingsOp::ShareView
                | SettingsOp::EditTemplates
                | SettingsOp::ManageIntegrations => (Resource::Settings, Edit),
            },
            Operation::Leads(op) => (
                Resource::Leads,
                match op {
                    LeadOp::List | LeadOp::View => View,
                    LeadOp::Create => Create,
                    LeadOp::Edit => Edit,
                    LeadOp::Delete => Delete,
                    LeadOp::Export => Export,
                    LeadOp::Import => Import,
                },
            ),
            Operation::Clients(op) => (
                Resource::Clients,
                match op {
                    ClientOp::View => View,
                    ClientOp::Edit | ClientOp::Merge => Edit,
                },
            ),
            Operation::Bots(op) => match op {
                BotOp::View => (Resource::Telegram, View),
                BotOp::Connect => (Resource::Telegram, Create),
                BotOp::Edit => (Resource::Telegram, Edit),
                BotOp::Delete => (Resource::Telegram, Delete),
                // Which bot speaks for the company is a company setting.
                BotOp::MarkCompanyBot => (Resource::Settings, Edit),
            },
            Operation::Inbox(op) => (
                Resource::Inbox,
                match op {
                    InboxOp::View => View,
                    InboxOp::Reply => Send,
                },
            ),
            Operation::Auction(op) => match op {
                AuctionOp::ViewLots | AuctionOp::ViewBalance => (Resource::Auction, View),
                AuctionOp::Bid | AuctionOp::RequestReturn => (Resource::Auction, Bid),
                AuctionOp::ManageLots | AuctionOp::ModerateReturns => (Resource::Auction, Edit),
                // Money in and out of a company's balance is a settlement.
                AuctionOp::ManageBalances => (Resource::Settlements, Settle),
            },
            Operation::Commissions(op) => (
                Resource::Settlements,
                match op {
                    CommissionOp::ViewGrades
                    | CommissionOp::ViewAccruals
                    | CommissionOp::ViewSettlements
                    | CommissionOp::SignAct => View,
                    CommissionOp::ManageGrades
                    | CommissionOp::RecordIssue
                    | CommissionOp::IssueAct
                    | CommissionOp::RecordPayment => Settle,
                },
            ),
            Operation::Broadcasts(op) => (
                Resource::Broadcasts,
                match op {
                    BroadcastOp::View => View,
                    BroadcastOp::Create => Create,
                    BroadcastOp::Send => Send,
                    BroadcastOp::Approve => Approve,
                    BroadcastOp::Export => Export,
                },
            ),
            Operation::Outreach(op) => (
                Resource::Outreach,
                match op {
                    OutreachOp::View => View,
                    OutreachOp::Manage => Edit,
                    OutreachOp::Send => Send,
                    OutreachOp::Export => Export,
                },
            ),
            Operation::Reports(op) => (
                Resource::Reports,
                match op {
                    ReportOp::View => View,
                    ReportOp::Share => Create,
                    ReportOp::Export => Export,
                },
            ),
            Operation::Companies(op) => (
                Resource::Users,
                match op {
                    CompanyOp::List | CompanyOp::View => View,
                    CompanyOp::Edit => Edit,
                },
            ),
        }
    }

    /// Every operation of every feature.
    pub fn all() -> Vec<Operation> {
        UserOp::iter()
            .map(Operation::Users)
            .chain(SettingsOp::iter().map(Operation::Settings))
            .chain(LeadOp::iter().map(Operation::Leads))
            .chain(ClientOp::iter().map(Operation::Clients))
            .chain(BotOp::iter().map(Operation::Bots))
            .chain(InboxOp::iter().map(Operation::Inbox))
            .chain(AuctionOp::iter().map(Operation::Auction))
            .chain(CompanyOp::iter().map(Operation::Companies))
            .chain(CommissionOp::iter().map(Operation::Commissions))
            .chain(BroadcastOp::iter().map(Operation::Broadcasts))
            .chain(OutreachOp::iter().map(Operation::Outreach))
            .chain(ReportOp::iter().map(Operation::Reports))
            .collect()
    }
}

/// What an operation touches, for scope checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A collection: the caller filters by the returned scope.
    Collection,
    /// A record owned by `owner` (for users: the user itself) in `team`.
    Owned { owner: Uuid, team: Option<Uuid> },
    /// A record with several people attached (a lead: responsible, source
    /// partner, franchisee, creator; later a lot's bidders, a settlement's
    /// parties): any of them counts as its owner.
    Record { owners: Vec<Uuid>, team: Option<Uuid> },
}

impl Target {
    /// A record owned by whichever of `owners` are set.
    pub fn record(owners: impl IntoIterator<Item = Option<Uuid>>, team: Option<Uuid>) -> Self {
        let mut list: Vec<Uuid> = owners.into_iter().flatten().collect();
        list.sort();
        list.dedup();
        Target::Record { owners: list, team }
    }
}

/// [`authorize`] for a company setting: settings have no owner, so the
/// question is only whether the actor's role may do `op` at all.
pub async fn authorize_setting(pool: &PgPool, actor: &Actor, op: SettingsOp) -> Result<(), RbacError> {
    authorize(pool, actor, Operation::Settings(op), Target::Collection)
        .await
        .map(|_| ())
}

/// Decides whether `actor` may perform `op` on `target`; returns the scope
/// granted. Denies when the matrix has no entry (and says so in the log).
///
/// Runs no query once the matrix is cached (see [`invalidate`]), so a caller
/// holding a transaction never waits for a second pool connection.
///
/// An account that is not active (a registration awaiting approval) may do
/// nothing but look at its own record, whatever the matrix says.
pub async fn authorize(pool: &PgPool, actor: &Actor, op: Operation, target: Target) -> Result<Scope, RbacError> {
    if !actor.active {
        return match permits(actor, op, Scope::None, &target) {
            true => Ok(Scope::Own),
            false => Err(RbacError::NotAllowed),
        };
    }
    if actor.must_enroll_2fa {
        return Err(RbacError::TwoFactorRequired);
    }
    let (resource, action) = op.permission();
    if let Some(token) = &actor.token {
        if !token.permits(resource, action) {
            let needed = crate::accounts::TokenScope {
                resource,
                write: !matches!(action, Action::View | Action::Export),
            };
            return Err(RbacError::TokenScope(needed.key()));
        }
    }
    let scope = scope_for(pool, actor.role, resource, action).await?;
    if permits(actor, op, scope, &target) {
        Ok(scope)
    } else {
        Err(RbacError::NotAllowed)
    }
}

/// The whole decision for a granted `scope`, without I/O (the permission
/// walk test asks it too): an inactive account sees only its own record;
/// otherwise the scope must reach the target.
pub fn permits(actor: &Actor, op: Operation, scope: Scope, target: &Target) -> bool {
    if !actor.active {
        return matches!((op, target), (Operation::Users(UserOp::View), Target::Owned { owner, .. }) if *owner == actor.user_id);
    }
    covers(scope, actor, target)
}

/// True when `scope` granted to `actor` reaches `target`.
pub fn covers(scope: Scope, actor: &Actor, target: &Target) -> bool {
    match (scope, target) {
        (Scope::None, _) => false,
        (_, Target::Collection) => true,
        (Scope::All, _) => true,
        (Scope::Team, Target::Owned { owner, team }) => {
            *owner == actor.user_id || (team.is_some() && *team == actor.team_id)
        }
        (Scope::Own, Target::Owned { owner, .. }) => *owner == actor.user_id,
        (Scope::Team, Target::Record { owners, team }) => {
            owners.contains(&actor.user_id) || (team.is_some() && *team == actor.team_id)
        }
        (Scope::Own, Target::Record { owners, .. }) => owners.contains(&actor.user_id),
    }
}

type Cells = HashMap<(Role, Resource, Action), Scope>;

/// The matrix per database, loaded once and dropped when it changes (here by
/// [`set_permission`], on other instances by the realtime listener).
static CACHE: LazyLock<RwLock<HashMap<String, Arc<Cells>>>> = LazyLock::new(Default::default);
static GENERATION: AtomicU64 = AtomicU64::new(0);

pub(crate) fn cache_key(pool: &PgPool) -> String {
    let o = pool.connect_options();
    format!("{}:{}/{}", o.get_host(), o.get_port(), o.get_database().unwrap_or(""))
}

/// Forgets the cached matrix: the next check reads it again.
pub fn invalidate(pool: &PgPool) {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    CACHE
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&cache_key(pool));
}

async fn cells(pool: &PgPool) -> Result<Arc<Cells>, RbacError> {
    let key = cache_key(pool);
    if let Some(c) = CACHE.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    let generation = GENERATION.load(Ordering::SeqCst);
    let loaded: Arc<Cells> = Arc::new(
        load_matrix(pool)
            .await?
            .into_iter()
            .map(|c| ((c.role, c.resource, c.action), c.scope))
            .collect(),
    );
    let mut cache = CACHE.write().unwrap_or_else(|e| e.into_inner());
    // A change committed while we were reading: don't keep what we read.
    if GENERATION.load(Ordering::SeqCst) == generation {
        cache.insert(key, loaded.clone());
    }
    Ok(loaded)
}

/// The scope the matrix grants `role` for `resource`/`action`.
pub async fn scope_for(pool: &PgPool, role: Role, resource: Resource, action: Action) -> Result<Scope, RbacError> {
    match cells(pool).await?.get(&(role, resource, action)) {
        Some(s) => Ok(*s),
        None => {
            tracing::error!(%role, %resource, %action, "permission matrix has no entry; denying");
            Err(RbacError::MissingEntry(format!("{role}/{resource}/{action}")))
        }
    }
}

/// The roles granted `scope` for `resource`/`action`, read in the caller's
/// transaction (who is to be told of something).
pub(crate) async fn roles_with_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    resource: Resource,
    action: Action,
    scope: Scope,
) -> Result<Vec<Role>, sqlx::Error> {
    let rows = sqlx::query_scalar!(
        "select role from permissions where resource = $1 and action = $2 and scope = $3",
        resource.as_str(),
        action.as_str(),
        scope.as_str()
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().filter_map(|r| r.parse().ok()).collect())
}

/// Why a matrix cell is dangerous to grant, for the matrix editor's warning:
/// people outside HQ reaching other people's accounts, everyone's clients,
/// the settings or the audit log; anyone but admins managing users
/// (the role ranking still stops them above their own role).
pub fn danger(role: Role, resource: Resource, action: Action, scope: Scope) -> Option<&'static str> {
    if scope == Scope::None {
        return None;
    }
    let outside = !role.is_staff();
    match (resource, action) {
        (Resource::Settings, _) if role != Role::Admin => Some("Даёт менять права, воронки и поля всей CRM"),
        (Resource::Audit, _) if outside => Some("Журнал аудита содержит действия и данные всех пользователей"),
        (Resource::Outreach, _) if outside => {
            Some("Внешний пользователь увидит переписку отдела продаж или будет писать от аккаунтов компании")
        }
        (Resource::Users, Action::Approve) if outside => Some("Внешний пользователь сможет одобрять регистрации"),
        (Resource::Users, Action::Approve) if role == Role::Employee => {
            Some("Сотрудник сможет одобрять регистрации и выдавать роли (не выше своей)")
        }
        (Resource::Users, Action::Create | Action::Edit | Action::Delete) if outside && scope != Scope::Own => {
            Some("Внешний пользователь сможет управлять чужими учётными записями")
        }
        (Resource::Users, Action::Create | Action::Edit | Action::Delete) if role == Role::Employee => {
            Some("Сотрудник сможет приглашать, блокировать и менять роли (не выше своей)")
        }
        (Resource::Settlements, Action::Settle) if outside => {
            Some("Внешний пользователь сможет проводить взаиморасчёты и начисления")
        }
        (Resource::Auction, Action::Bid) if role == Role::Partner => {
            Some("Партнёр сможет покупать лиды на аукционе, как франчайзи")
        }
        (Resource::Leads | Resource::Clients, _) if outside && scope == Scope::All => {
            Some("Внешний пользователь увидит лиды и клиентов всей компании")
        }
        (Resource::Leads | Resource::Clients, Action::Export | Action::Import | Action::Delete)
            if role == Role::Partner =>
        {
            Some("Партнёр сможет выгружать, загружать или удалять данные клиентов")
        }
        (Resource::Users, Action::View) if role == Role::Guest && scope == Scope::Own => None,
        (_, _) if role == Role::Guest => Some("Гость — это заявка на рассмотрении: ей не положено никаких прав"),
        _ => None,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MatrixCell {
    pub role: Role,
    pub resource: Resource,
    pub action: Action,
    pub scope: Scope,
}

/// The whole matrix. Needs settings:view.
pub async fn matrix(pool: &PgPool, actor: &Actor) -> Result<Vec<MatrixCell>, RbacError> {
    authorize_setting(pool, actor, SettingsOp::ViewPermissions).await?;
    load_matrix(pool).await
}

/// The cells of one role (no permission needed: it shapes the viewer's own
/// navigation).
pub async fn role_permissions(pool: &PgPool, role: Role) -> Result<Vec<(Resource, Action, Scope)>, RbacError> {
    let mut out: Vec<_> = cells(pool)
        .await?
        .iter()
        .filter(|((r, ..), _)| *r == role)
        .map(|((_, res, act), scope)| (*res, *act, *scope))
        .collect();
    out.sort();
    Ok(out)
}

/// The matrix without a permission check: for the walk test and for
/// deciding what a realtime event's viewer may see.
pub async fn load_matrix(pool: &PgPool) -> Result<Vec<MatrixCell>, RbacError> {
    let rows = sqlx::query!("select role, resource, action, scope from permissions order by role, resource, action")
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(MatrixCell {
                role: r.role.parse().map_err(RbacError::Invalid)?,
                resource: r.resource.parse().map_err(RbacError::Invalid)?,
                action: r.action.parse().map_err(RbacError::Invalid)?,
                scope: r.scope.parse().map_err(RbacError::Invalid)?,
            })
        })
        .collect()
}

/// Sets one matrix cell. Needs settings:edit. The admin's own right to edit
/// settings can't be taken away (that would lock everyone out). Audited and
/// announced to every open page at once.
pub async fn set_permission(
    pool: &PgPool,
    actor: &Actor,
    role: Role,
    resource: Resource,
    action: Action,
    scope: Scope,
) -> Result<(), RbacError> {
    authorize_setting(pool, actor, SettingsOp::EditPermissions).await?;
    if !resource.actions().contains(&action) {
        return Err(RbacError::Invalid(format!(
            "у раздела «{resource}» нет права «{action}»"
        )));
    }
    if role == Role::Admin && resource == Resource::Settings && scope != Scope::All {
        return Err(RbacError::Invalid(
            "у администратора нельзя отнять право менять настройки".into(),
        ));
    }
    let mut tx = pool.begin().await?;
    let before = sqlx::query_scalar!(
        "select scope from permissions where role = $1 and resource = $2 and action = $3 for update",
        role.as_str(),
        resource.as_str(),
        action.as_str()
    )
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into permissions (role, resource, action, scope) values ($1, $2, $3, $4)
         on conflict (role, resource, action) do update set scope = excluded.scope",
        role.as_str(),
        resource.as_str(),
        action.as_str(),
        scope.as_str()
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "permission",
        &format!("{role}/{resource}/{action}"),
        "update",
        before.map(|s| serde_json::json!({ "scope": s })),
        Some(serde_json::json!({ "scope": scope.as_str() })),
    )
    .await?;
    realtime::publish(&mut tx, &realtime::Event::PermissionsChanged).await?;
    tx.commit().await?;
    invalidate(pool);
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct RolePolicy {
    pub role: Role,
    pub require_2fa: bool,
}

/// 2FA policy per role. Needs settings:view.
pub async fn role_policies(pool: &PgPool, actor: &Actor) -> Result<Vec<RolePolicy>, RbacError> {
    authorize_setting(pool, actor, SettingsOp::ViewPermissions).await?;
    let rows = sqlx::query!("select role, require_2fa from role_settings order by role")
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(RolePolicy {
                role: r.role.parse().map_err(RbacError::Invalid)?,
                require_2fa: r.require_2fa,
            })
        })
        .collect()
}

/// Requires (or stops requiring) 2FA for a role. Needs settings:edit.
pub async fn set_require_2fa(pool: &PgPool, actor: &Actor, role: Role, require: bool) -> Result<(), RbacError> {
    authorize_setting(pool, actor, SettingsOp::EditSecurityPolicy).await?;
    let mut tx = pool.begin().await?;
    let before = sqlx::query_scalar!("select require_2fa from role_settings where role = $1", role.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    sqlx::query!(
        "insert into role_settings (role, require_2fa) values ($1, $2)
         on conflict (role) do update set require_2fa = excluded.require_2fa",
        role.as_str(),
        require
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "role_policy",
        role.as_str(),
        "update",
        before.map(|b| serde_json::json!({ "require_2fa": b })),
        Some(serde_json::json!({ "require_2fa": require })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether the role must use 2FA (no permission needed: used at sign-in).
pub async fn role_requires_2fa(pool: &PgPool, role: Role) -> Result<bool, RbacError> {
    Ok(
        sqlx::query_scalar!("select require_2fa from role_settings where role = $1", role.as_str())
            .fetch_optional(pool)
            .await?
            .unwrap_or(false),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_editor_warns_about_cells_that_hand_out_too_much() {
        use Action::*;
        use Resource::*;
        assert!(danger(Role::Partner, Users, Edit, Scope::All).is_some());
        assert!(danger(Role::Partner, Users, Edit, Scope::Own).is_none(), "own profile");
        assert!(danger(Role::Employee, Users, Create, Scope::All).is_some());
        assert!(danger(Role::Employee, Settings, Edit, Scope::All).is_some());
        assert!(danger(Role::Admin, Settings, Edit, Scope::All).is_none());
        assert!(danger(Role::Franchisee, Leads, View, Scope::All).is_some());
        assert!(danger(Role::Franchisee, Leads, View, Scope::Team).is_none());
        assert!(danger(Role::Partner, Leads, Export, Scope::Own).is_some());
        assert!(
            danger(Role::Franchisee, Leads, Export, Scope::Team).is_none(),
            "its own office's leads"
        );
        assert!(danger(Role::Guest, Users, Edit, Scope::Own).is_some());
        assert!(
            danger(Role::Guest, Users, View, Scope::Own).is_none(),
            "its own application"
        );
        assert!(danger(Role::Guest, Users, View, Scope::None).is_none());
    }
}
