//! Every UI string, Russian first, English second. `t("key")` picks the
//! viewer's language (cookie `lang`).

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
    pub fn from_code(s: &str) -> Self {
        if s == "en" {
            Lang::En
        } else {
            Lang::Ru
        }
    }
}

/// (key, Russian, English)
const CATALOG: &[(&str, &str, &str)] = &[
    ("app.name", "MaK CRM", "MaK CRM"),
    ("nav.users", "Пользователи", "Users"),
    ("nav.permissions", "Права доступа", "Permissions"),
    ("nav.leads", "Лиды", "Leads"),
    ("nav.kanban", "Канбан", "Kanban"),
    ("nav.tasks", "Мои задачи", "My tasks"),
    ("leads.title", "Лиды", "Leads"),
    ("leads.new", "Новый лид", "New lead"),
    ("leads.lead", "Лид", "Lead"),
    ("leads.search", "Поиск: имя, телефон в любом формате, email", "Search: name, phone in any format, email"),
    ("leads.any_stage", "Любой этап", "Any stage"),
    ("leads.any_product", "Любой продукт", "Any product"),
    ("leads.amount_from", "Сумма от", "Amount from"),
    ("leads.amount_to", "Сумма до", "Amount to"),
    ("leads.client", "Клиент", "Client"),
    ("leads.client_name", "Имя клиента", "Client name"),
    ("leads.product", "Продукт", "Product"),
    ("leads.amount", "Сумма, ₽", "Amount, ₽"),
    ("leads.stage", "Этап", "Stage"),
    ("leads.status", "Статус", "Status"),
    ("leads.partner", "Партнёр", "Partner"),
    ("leads.created", "Создан", "Created"),
    ("leads.comment", "Комментарий", "Comment"),
    ("leads.consent", "Клиент согласен на обработку персональных данных (152-ФЗ)", "The client consents to personal data processing (152-FZ)"),
    ("leads.consent_label", "Согласие на обработку ПДн", "Personal data consent"),
    ("leads.submit", "Создать лид", "Create lead"),
    ("leads.created_ok", "Лид создан", "Lead created"),
    ("leads.duplicate_found", "Такой клиент уже есть в базе:", "This client is already in the database:"),
    ("leads.hidden_client", "клиент другого менеджера", "another manager's client"),
    ("leads.same_phone", "тот же телефон", "same phone"),
    ("leads.same_email", "тот же email", "same email"),
    ("leads.attach", "Прикрепить лид к этому клиенту", "Attach the lead to this client"),
    ("leads.create_anyway", "Всё равно создать нового клиента", "Create a new client anyway"),
    ("leads.timeline", "История", "Timeline"),
    ("leads.add_comment", "Добавить", "Add"),
    ("kanban.title", "Канбан", "Kanban"),
    ("tasks.title", "Мои задачи", "My tasks"),
    ("tasks.new", "Задача", "Task"),
    ("tasks.text", "Что сделать", "What to do"),
    ("tasks.due", "Срок", "Due"),
    ("tasks.add", "Поставить задачу", "Add task"),
    ("tasks.done", "Готово", "Done"),
    ("tasks.none", "Задач нет", "No tasks"),
    ("import.title", "Импорт лидов", "Lead import"),
    ("import.hint", "CSV (UTF-8 или Windows-1251; разделитель ; , или Tab) или XLSX. Дубли по телефону и email проверяются.", "CSV (UTF-8 or Windows-1251; ; , or Tab) or XLSX. Duplicates are checked by phone and email."),
    ("import.upload", "Загрузить", "Upload"),
    ("import.encoding", "Кодировка", "Encoding"),
    ("import.delimiter", "Разделитель", "Delimiter"),
    ("import.auto", "определить", "detect"),
    ("import.mapping", "Сопоставление колонок", "Column mapping"),
    ("import.preview", "Первые строки", "First rows"),
    ("import.problems", "Ошибки в первых строках:", "Problems in the first rows:"),
    ("import.row", "строка", "row"),
    ("import.duplicates", "Если клиент уже есть", "When the client exists"),
    ("import.dup_skip", "пропустить строку", "skip the row"),
    ("import.dup_update", "обновить существующего", "update the existing one"),
    ("import.dup_create", "всё равно создать", "create anyway"),
    ("import.start", "Начать импорт", "Start import"),
    ("import.cancel", "Остановить", "Stop"),
    ("import.processed", "Обработано строк", "Rows processed"),
    ("import.created", "Создано", "Created"),
    ("import.updated", "Обновлено", "Updated"),
    ("import.skipped", "Пропущено (дубли)", "Skipped (duplicates)"),
    ("import.failed", "С ошибками", "Failed"),
    ("import.skipped_rows", "Строки-дубли", "Duplicate rows"),
    ("import.report_csv", "Скачать отчёт (CSV)", "Download report (CSV)"),
    ("leads.import", "Импорт", "Import"),
    ("role.admin", "Администратор", "Administrator"),
    ("role.employee", "Сотрудник", "Employee"),
    ("role.partner", "Партнёр", "Partner"),
    ("role.franchisee", "Франчайзи", "Franchisee"),
    ("role.guest", "Гость", "Guest"),
    ("status.active", "Активен", "Active"),
    ("status.pending", "Ожидает одобрения", "Awaiting approval"),
    ("status.rejected", "Отклонён", "Rejected"),
    ("res.users", "Пользователи", "Users"),
    ("res.leads", "Лиды", "Leads"),
    ("res.clients", "Клиенты", "Clients"),
    ("res.auction", "Аукцион", "Auction"),
    ("res.reports", "Отчёты", "Reports"),
    ("res.telegram", "Telegram", "Telegram"),
    ("res.settings", "Настройки", "Settings"),
    ("res.audit", "Аудит", "Audit"),
    ("act.view", "просмотр", "view"),
    ("act.create", "создание", "create"),
    ("act.edit", "изменение", "edit"),
    ("act.delete", "удаление", "delete"),
    ("act.export", "экспорт", "export"),
    ("act.import", "импорт", "import"),
    ("scope.none", "—", "—"),
    ("scope.own", "свои", "own"),
    ("scope.team", "команда", "team"),
    ("scope.all", "все", "all"),
    ("perm.cell", "Раздел / действие", "Section / action"),
    ("legal.ip", "ИП", "Sole trader (IP)"),
    ("legal.ooo", "ООО", "LLC (OOO)"),
    ("legal.self_employed", "Самозанятый", "Self-employed"),
    ("legal.individual", "Физлицо", "Individual"),
    ("reg.closed", "Самостоятельная регистрация отключена", "Self-registration is turned off"),
    ("users.wants_partner", "хочет стать партнёром", "wants to be a partner"),
    ("users.wants_franchisee", "хочет стать франчайзи", "wants to be a franchisee"),
    ("users.inn", "ИНН", "INN"),
    ("sec.done", "Готово", "Done"),
    ("tokens.prefix", "Префикс", "Prefix"),
    ("leads.numbers", "лиды", "leads"),
    ("lang.ru", "Русский", "Русский"),
    ("lang.en", "English", "English"),
    ("import.status.uploaded", "загружен, ждёт настройки", "uploaded, awaiting settings"),
    ("import.status.queued", "в очереди", "queued"),
    ("import.status.running", "идёт импорт", "importing"),
    ("import.status.done", "завершён", "finished"),
    ("import.status.failed", "ошибка", "failed"),
    ("import.status.cancelled", "отменён", "cancelled"),
    ("merge.title", "Похожие клиенты — объединить", "Similar clients — merge"),
    ("merge.same_name", "то же имя", "same name"),
    ("merge.name", "Имя, которое останется", "Name to keep"),
    ("merge.submit", "Объединить в эту карточку", "Merge into this client"),
    ("nav.pipelines", "Воронки", "Pipelines"),
    ("pipes.title", "Воронки и этапы", "Pipelines and stages"),
    ("pipes.won", "успех", "won"),
    ("pipes.lost", "отказ", "lost"),
    ("pipes.open", "в работе", "open"),
    ("pipes.move_to", "Куда перенести лиды…", "Move its leads to…"),
    ("pipes.delete", "Удалить", "Delete"),
    ("pipes.stage_name", "Новый этап", "New stage"),
    ("pipes.add_stage", "Добавить этап", "Add stage"),
    ("pipes.new", "Новая воронка", "New pipeline"),
    ("pipes.name", "Название", "Name"),
    ("pipes.create", "Создать воронку", "Create pipeline"),
    ("leads.attach_to_deal", "Прикрепить к сделке №", "Attach to deal №"),
    ("leads.attach_submit", "Прикрепить", "Attach"),
    ("cab.new_lead", "Передать лид", "Hand in a lead"),
    ("cab.my_leads", "Мои лиды", "My leads"),
    ("nav.audit", "Журнал аудита", "Audit log"),
    ("nav.profile", "Профиль", "Profile"),
    ("nav.security", "Безопасность", "Security"),
    ("nav.partner", "Кабинет партнёра", "Partner cabinet"),
    ("nav.franchisee", "Кабинет франчайзи", "Franchisee cabinet"),
    ("nav.signout", "Выйти", "Sign out"),
    ("nav.signin", "Войти", "Sign in"),
    ("nav.register", "Регистрация", "Register"),
    ("nav.notifications", "Уведомления", "Notifications"),
    ("nav.no_notifications", "Уведомлений нет", "No notifications"),
    ("nav.mark_read", "Отметить прочитанными", "Mark all read"),
    ("login.title", "Вход в MaK CRM", "Sign in to MaK CRM"),
    ("login.email", "Email", "Email"),
    ("login.password", "Пароль", "Password"),
    ("login.submit", "Войти", "Sign in"),
    ("login.code_title", "Код подтверждения", "Verification code"),
    (
        "login.code_hint",
        "Введите 6-значный код из приложения-аутентификатора или один из кодов восстановления.",
        "Enter the 6-digit code from your authenticator app or a recovery code.",
    ),
    ("login.code", "Код", "Code"),
    ("login.confirm", "Подтвердить", "Confirm"),
    ("login.oauth", "Войти через", "Sign in with"),
    ("login.no_account", "Нет учётной записи?", "No account?"),
    ("reg.title", "Заявка на сотрудничество", "Partnership application"),
    ("reg.full_name", "ФИО", "Full name"),
    ("reg.phone", "Телефон", "Phone"),
    ("reg.city", "Город", "City"),
    ("reg.niche", "Ниша", "Niche"),
    ("reg.legal_form", "Правовая форма", "Legal form"),
    ("reg.inn", "ИНН", "Tax number (INN)"),
    ("reg.company", "Название компании", "Company name"),
    (
        "reg.referral",
        "Реферальный код (необязательно)",
        "Referral code (optional)",
    ),
    ("reg.role", "Я хочу стать", "I want to become"),
    ("reg.as_partner", "Партнёром", "A partner"),
    ("reg.as_franchisee", "Франчайзи", "A franchisee"),
    ("reg.submit", "Отправить заявку", "Submit application"),
    ("reg.oauth_no_account", "Учётная запись с этим email не найдена. Заполните заявку — после одобрения вы сможете входить через этого провайдера.", "No account has this email. Fill in the application — once approved you can sign in with this provider."),
    ("tokens.title", "API-токены", "API tokens"),
    ("tokens.name", "Название", "Name"),
    ("tokens.issue", "Выпустить токен", "Issue token"),
    ("tokens.revoke", "Отозвать", "Revoke"),
    ("tokens.revoked", "отозван", "revoked"),
    ("tokens.none", "Токенов нет", "No tokens"),
    ("tokens.last_used", "Последнее использование", "Last used"),
    ("pending.title", "Заявка на рассмотрении", "Application under review"),
    (
        "pending.text",
        "Мы проверяем вашу заявку. Как только администратор её одобрит, эта страница откроет ваш кабинет.",
        "We are reviewing your application. As soon as an administrator approves it, this page opens your cabinet.",
    ),
    (
        "pending.rejected",
        "Заявка отклонена. Свяжитесь с нами, если это ошибка.",
        "Your application was rejected. Contact us if this is a mistake.",
    ),
    ("users.title", "Пользователи", "Users"),
    (
        "users.search",
        "Поиск: имя, email, телефон, компания",
        "Search: name, email, phone, company",
    ),
    ("users.all", "Все", "All"),
    ("users.pending", "Заявки", "Applications"),
    ("users.active", "Активные", "Active"),
    ("users.rejected", "Отклонённые", "Rejected"),
    ("users.name", "ФИО", "Name"),
    ("users.role", "Роль", "Role"),
    ("users.status", "Статус", "Status"),
    ("users.company", "Компания", "Company"),
    ("users.actions", "Действия", "Actions"),
    ("users.approve_partner", "Одобрить: партнёр", "Approve as partner"),
    (
        "users.approve_franchisee",
        "Одобрить: франчайзи",
        "Approve as franchisee",
    ),
    ("users.reject", "Отклонить", "Reject"),
    ("users.block", "Заблокировать", "Block"),
    ("users.unblock", "Разблокировать", "Unblock"),
    ("users.blocked", "заблокирован", "blocked"),
    ("users.invite", "Пригласить", "Invite"),
    (
        "users.invite_link",
        "Ссылка-приглашение (действует 7 дней, один раз):",
        "Invitation link (valid 7 days, once):",
    ),
    ("users.token", "Выдать API-токен", "Issue API token"),
    (
        "users.token_shown_once",
        "Токен показан один раз — сохраните его:",
        "The token is shown once — save it:",
    ),
    ("users.total", "Всего", "Total"),
    ("users.prev", "Назад", "Previous"),
    ("users.next", "Вперёд", "Next"),
    ("perm.title", "Матрица прав", "Permission matrix"),
    (
        "perm.hint",
        "Изменения вступают в силу сразу.",
        "Changes take effect immediately.",
    ),
    ("perm.require_2fa", "Обязательная 2FA для роли", "Require 2FA for role"),
    (
        "perm.self_registration",
        "Самостоятельная регистрация партнёров и франчайзи",
        "Self-registration of partners and franchisees",
    ),
    ("audit.title", "Журнал аудита", "Audit log"),
    ("audit.when", "Когда", "When"),
    ("audit.who", "Кто", "Who"),
    ("audit.entity", "Объект", "Entity"),
    ("audit.action", "Действие", "Action"),
    ("audit.changes", "Изменения", "Changes"),
    ("audit.from", "С", "From"),
    ("audit.to", "По", "To"),
    ("audit.apply", "Применить", "Apply"),
    ("profile.title", "Профиль", "Profile"),
    ("profile.save", "Сохранить", "Save"),
    ("profile.saved", "Сохранено", "Saved"),
    ("profile.lang", "Язык интерфейса", "Interface language"),
    ("profile.password_title", "Смена пароля", "Change password"),
    ("profile.current_password", "Текущий пароль", "Current password"),
    ("profile.new_password", "Новый пароль", "New password"),
    ("profile.change_password", "Сменить пароль", "Change password"),
    (
        "profile.signout_all",
        "Выйти на всех устройствах",
        "Sign out everywhere",
    ),
    ("sec.title", "Двухфакторная аутентификация", "Two-factor authentication"),
    ("sec.enabled", "2FA включена.", "2FA is on."),
    ("sec.disabled", "2FA выключена.", "2FA is off."),
    (
        "sec.required",
        "Для вашей роли 2FA обязательна: включите её, чтобы продолжить работу.",
        "Your role requires 2FA: turn it on to continue.",
    ),
    (
        "sec.start",
        "Подключить приложение-аутентификатор",
        "Set up an authenticator app",
    ),
    (
        "sec.scan",
        "Отсканируйте QR-код в приложении (Google Authenticator, Яндекс Ключ и др.) или введите ключ вручную:",
        "Scan the QR code with your app or enter the key manually:",
    ),
    ("sec.confirm", "Подтвердить", "Confirm"),
    (
        "sec.codes",
        "Коды восстановления — каждый работает один раз. Сохраните их сейчас, больше они не будут показаны:",
        "Recovery codes — each works once. Save them now; they won't be shown again:",
    ),
    ("sec.disable", "Отключить 2FA", "Turn off 2FA"),
    ("cab.partner_title", "Кабинет партнёра", "Partner cabinet"),
    ("cab.franchisee_title", "Кабинет франчайзи", "Franchisee cabinet"),
    ("cab.welcome", "Здравствуйте", "Hello"),
    ("cab.referral", "Ваш реферальный код", "Your referral code"),
    (
        "cab.soon",
        "Заявки, расчёты и обучение появятся в следующих разделах.",
        "Leads, settlements and training come in the next sections.",
    ),
    ("invite.title", "Приглашение в MaK CRM", "Invitation to MaK CRM"),
    ("invite.submit", "Создать учётную запись", "Create account"),
    ("forbidden.title", "Нет доступа", "Access denied"),
    (
        "forbidden.text",
        "У вашей роли нет прав на этот раздел. Если это ошибка, обратитесь к администратору.",
        "Your role has no rights to this section. Contact an administrator if this is a mistake.",
    ),
    ("notfound.title", "Страница не найдена", "Page not found"),
    ("common.loading", "Загрузка…", "Loading…"),
    ("common.back_home", "На главную", "Home"),
    ("live.on", "на связи", "live"),
    ("live.off", "нет связи", "offline"),
];

/// The viewer's language, provided at the root.
pub fn use_lang() -> Lang {
    use_context::<Lang>().unwrap_or(Lang::Ru)
}

/// Looks a key up in the catalog for `lang`; unknown keys come back as is.
pub fn lookup(lang: Lang, key: &'static str) -> &'static str {
    CATALOG
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, ru, en)| if lang == Lang::En { *en } else { *ru })
        .unwrap_or(key)
}

/// The string for `key` in the viewer's language.
pub fn t(key: &'static str) -> &'static str {
    lookup(use_lang(), key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_keys_are_unique_and_translated() {
        let mut keys: Vec<_> = CATALOG.iter().map(|(k, _, _)| *k).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(n, keys.len(), "duplicate keys in the catalog");
        for (k, ru, en) in CATALOG {
            assert!(!ru.is_empty() && !en.is_empty(), "{k} lacks a translation");
        }
    }

    #[test]
    fn lookup_picks_the_language() {
        assert_eq!(lookup(Lang::Ru, "nav.signout"), "Выйти");
        assert_eq!(lookup(Lang::En, "nav.signout"), "Sign out");
        assert_eq!(lookup(Lang::En, "no.such.key"), "no.such.key");
    }
}
