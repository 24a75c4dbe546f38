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
    ("leads.move", "Перенести", "Move"),
    ("kanban.move_to", "Перенести в…", "Move to…"),
    ("kanban.more", "Показать ещё", "Show more"),
    ("kanban.all_in_list", "Все в списке", "All in the list"),
    ("clients.edit", "Имя и контакты", "Name and contacts"),
    ("clients.saved", "Сохранено", "Saved"),
    ("clients.phones", "Телефоны (по одному в строке, первый — основной)", "Phones (one per line, the first is the main one)"),
    ("clients.emails", "Email (по одному в строке)", "Emails (one per line)"),
    ("leads.delete", "Удалить лид", "Delete lead"),
    (
        "leads.delete_confirm",
        "Лид исчезнет из списков, канбана и выгрузок (история сохранится). Удалить?",
        "The lead disappears from lists, the board and exports (its history is kept). Delete?",
    ),
    ("leads.delete_yes", "Да, удалить", "Yes, delete"),
    ("leads.delete_no", "Отмена", "Cancel"),
    ("leads.status", "Статус", "Status"),
    ("leads.partner", "Партнёр", "Partner"),
    ("leads.created", "Создан", "Created"),
    ("leads.comment", "Комментарий", "Comment"),
    ("leads.consent", "Клиент согласен на обработку персональных данных (152-ФЗ)", "The client consents to personal data processing (152-FZ)"),
    ("leads.consent_label", "Согласие на обработку ПДн", "Personal data consent"),
    ("leads.submit", "Создать лид", "Create lead"),
    (
        "login.err.link_invalid",
        "Ссылка для входа устарела или уже использована. Получите новую в боте командой /login",
        "The sign-in link has expired or was used. Get a new one with /login in the bot",
    ),
    (
        "login.err.no_account",
        "Учётная запись с этим email не найдена. Обратитесь к администратору",
        "No account with this email. Contact the administrator",
    ),
    ("login.err.email_not_verified", "Провайдер входа не подтвердил ваш email", "The provider did not verify your email"),
    (
        "login.err.blocked",
        "Учётная запись заблокирована. Обратитесь к администратору",
        "The account is blocked. Contact the administrator",
    ),
    (
        "login.err.throttled",
        "Слишком много неудачных попыток входа. Повторите через 15 минут",
        "Too many failed attempts. Try again in 15 minutes",
    ),
    ("login.err.unknown_provider", "Неизвестный способ входа", "Unknown sign-in method"),
    (
        "login.err.provider_unavailable",
        "Вход через этого провайдера сейчас недоступен",
        "Sign-in with this provider is unavailable",
    ),
    ("login.err.cancelled", "Вход отменён", "Sign-in cancelled"),
    ("login.err.expired", "Сессия входа истекла. Начните заново", "The sign-in session expired. Start again"),
    (
        "login.err.state_mismatch",
        "Ответ провайдера не прошёл проверку. Начните заново",
        "The provider's answer failed the check. Start again",
    ),
    (
        "login.err.provider_denied",
        "Провайдер не подтвердил вход. Повторите попытку",
        "The provider did not confirm the sign-in. Try again",
    ),
    (
        "login.err.profile_failed",
        "Не удалось получить данные профиля у провайдера",
        "Could not read the profile from the provider",
    ),
    ("login.err.other", "Не удалось войти. Повторите попытку", "Could not sign in. Try again"),
    ("import.consent", "Согласие на обработку персональных данных", "Consent to personal data processing"),
    (
        "import.consent_basis",
        "Основание, если в файле нет столбца согласия",
        "Basis, when the file has no consent column",
    ),
    (
        "import.consent_hint",
        "Например: «согласия собраны партнёром, договор № 12». Без столбца и без основания согласие у клиентов не отмечается.",
        "E.g. “consents collected by the partner, contract No. 12”. With neither, no consent is recorded.",
    ),
    ("leads.created_ok", "Лид создан", "Lead created"),
    ("leads.duplicate_found", "Такой клиент уже есть в базе:", "This client is already in the database:"),
    (
        "leads.sent_for_review",
        "Клиент с таким телефоном или email уже есть в базе — заявка передана в офис на проверку. Заявка",
        "A client with this phone or email already exists — the request was sent to the office for review. Request",
    ),
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
    ("leads.source", "Источник", "Source"),
    ("leads.method", "Способ обработки", "Processing method"),
    ("leads.responsible", "Ответственный", "Responsible"),
    ("leads.tags", "Теги", "Tags"),
    ("leads.tag", "Тег", "Tag"),
    ("leads.updated", "Изменён", "Updated"),
    ("leads.loss_reason", "Причина отказа", "Loss reason"),
    ("leads.filters", "Фильтры, колонки и виды", "Filters, columns and views"),
    ("leads.columns", "Колонки", "Columns"),
    ("leads.any_source", "Любой источник", "Any source"),
    ("leads.any_method", "Любой способ обработки", "Any processing method"),
    ("leads.any_status", "Любой статус", "Any status"),
    ("leads.any_responsible", "Любой ответственный", "Anyone responsible"),
    ("leads.any_partner", "Любой партнёр", "Any partner"),
    ("leads.created_from", "Создан с", "Created from"),
    ("leads.created_to", "по", "to"),
    ("leads.equals", "равно", "equals"),
    ("leads.from", "от", "from"),
    ("leads.to", "до", "to"),
    ("leads.reset", "Сбросить фильтры", "Reset filters"),
    ("leads.nothing_found", "Ничего не найдено. Измените поиск или сбросьте фильтры.", "Nothing found. Change the search or reset the filters."),
    ("leads.none_yet", "Лидов пока нет — добавьте первый кнопкой «Новый лид».", "No leads yet: add the first one with «New lead»."),
    ("views.all", "Все лиды (без вида)", "All leads (no view)"),
    ("views.shared", "общий", "shared"),
    ("views.delete", "Удалить вид", "Delete view"),
    ("views.name", "Название вида", "View name"),
    ("views.share", "Общий для всех", "Shared with everyone"),
    ("views.save", "Сохранить вид", "Save view"),
    ("views.saved", "Вид сохранён", "View saved"),
    ("timeline.create", "Лид создан", "Lead created"),
    ("timeline.update", "Изменения:", "Changes:"),
    ("timeline.move", "Этап:", "Stage:"),
    ("timeline.task", "Задача:", "Task:"),
    ("timeline.task_done", "Задача выполнена:", "Task done:"),
    ("timeline.attach", "Прикреплён к сделке:", "Attached to a deal:"),
    ("timeline.merge", "Объединение:", "Merge:"),
    ("timeline.other", "Событие:", "Event:"),
    ("timeline.file", "Файл:", "File:"),
    ("cab.my_clients", "Мои клиенты", "My clients"),
    ("cab.leads_count", "Лидов", "Leads"),
    ("files.title", "Файлы", "Files"),
    ("files.upload", "Загрузить файл", "Upload a file"),
    ("files.limit", "до 20 МБ", "up to 20 MB"),
    ("files.too_large", "Файл больше 20 МБ", "The file is larger than 20 MB"),
    ("files.empty", "Выберите непустой файл", "Choose a non-empty file"),
    ("files.storage", "Хранилище файлов недоступно, попробуйте позже", "File storage is unavailable, try again later"),
    ("nav.fields", "Справочники и поля", "Dictionaries and fields"),
    ("nav.bots", "Боты", "Bots"),
    ("nav.inbox", "Диалоги", "Inbox"),
    ("fields.title", "Справочники и дополнительные поля", "Dictionaries and extra fields"),
    ("fields.dictionaries", "Справочники", "Dictionaries"),
    ("fields.custom", "Дополнительные поля лида", "Extra lead fields"),
    ("fields.add", "Добавить", "Add"),
    ("fields.new_item", "Новое значение", "New value"),
    ("fields.rename", "Переименовать", "Rename"),
    ("fields.hide", "Скрыть", "Hide"),
    ("fields.show", "Показать", "Show"),
    ("fields.hidden", "скрыто", "hidden"),
    ("fields.up", "Выше", "Up"),
    ("fields.down", "Ниже", "Down"),
    ("fields.label", "Название поля", "Field label"),
    ("fields.kind", "Тип", "Type"),
    ("fields.options", "Варианты через запятую (для списка)", "Options, comma-separated (for a choice)"),
    ("fields.kind.text", "Текст", "Text"),
    ("fields.kind.number", "Число", "Number"),
    ("fields.kind.date", "Дата", "Date"),
    ("fields.kind.choice", "Список", "Choice"),
    ("dict.product", "Продукты", "Products"),
    ("dict.source", "Источники", "Sources"),
    ("dict.method", "Способы обработки", "Processing methods"),
    ("dict.status", "Статусы", "Statuses"),
    ("dict.loss_reason", "Причины отказа", "Loss reasons"),
    ("role.admin", "Администратор", "Administrator"),
    ("role.employee", "Сотрудник", "Employee"),
    ("role.partner", "Партнёр", "Partner"),
    ("role.franchisee", "Франчайзи", "Franchisee"),
    ("role.guest", "Гость", "Guest"),
    ("status.active", "Активен", "Active"),
    ("status.pending", "Ожидает одобрения", "Awaiting approval"),
    ("status.rejected", "Отклонён", "Rejected"),
    ("perm.time_zone", "Часовой пояс компании", "Company time zone"),
    ("perm.time_zone_hint", "Все даты и время в CRM, выгрузках и сообщениях ботов показываются и вводятся в этом поясе.", "Every date and time in the CRM, exports and bot messages is shown and typed in this zone."),
    ("res.users", "Пользователи", "Users"),
    ("res.leads", "Лиды", "Leads"),
    ("res.clients", "Клиенты", "Clients"),
    ("res.auction", "Аукцион", "Auction"),
    ("res.settlements", "Взаиморасчёты", "Settlements"),
    ("res.reports", "Отчёты", "Reports"),
    ("res.telegram", "Telegram", "Telegram"),
    ("res.inbox", "Входящие (чаты ботов)", "Inbox (bot chats)"),
    ("res.settings", "Настройки", "Settings"),
    ("res.audit", "Аудит", "Audit"),
    ("act.view", "просмотр", "view"),
    ("act.create", "создание", "create"),
    ("act.edit", "изменение", "edit"),
    ("act.delete", "удаление", "delete"),
    ("act.export", "экспорт", "export"),
    ("act.import", "импорт", "import"),
    ("act.approve", "одобрение", "approval"),
    ("act.send", "отправка", "sending"),
    ("act.bid", "ставки", "bidding"),
    ("act.settle", "расчёты", "settling"),
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
    ("reg.telegram", "Или заполните анкету в Telegram:", "Or fill in the questionnaire in Telegram:"),
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
    ("users.invitations", "Отправленные приглашения", "Sent invitations"),
    ("users.no_invitations", "Приглашений пока нет.", "No invitations yet."),
    ("users.invited_by", "Пригласил", "Invited by"),
    ("users.sent_at", "Отправлено", "Sent"),
    ("users.valid_until", "Действует до", "Valid until"),
    ("users.revoke", "Отозвать", "Revoke"),
    ("fields.api_key", "Ключ в API и импорте", "Key in the API and imports"),
    ("import.semicolon", "точка с запятой «;»", "semicolon «;»"),
    ("import.comma", "запятая «,»", "comma «,»"),
    ("import.tab", "табуляция", "tab"),
    ("users.nothing", "Пользователи не найдены. Измените поиск или вкладку.", "No users found. Change the search or the tab."),
    ("audit.nothing", "Записей не найдено. Измените условия отбора.", "No entries found. Change the filters."),
    ("leads.nothing_found_short", "Ничего не найдено.", "Nothing found."),
    ("cab.no_clients", "Клиентов пока нет: они появятся с вашими первыми лидами.", "No clients yet: they come with your first leads."),
    ("cab.no_leads", "Лидов пока нет. Добавьте первый в форме выше.", "No leads yet. Add the first one in the form above."),
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
    // The bots pages.
    ("bots.my_bots", "Мои боты", "My bots"),
    ("bots.connect_a_bot_create", "Подключите бота: создайте его в @BotFather, скопируйте токен и вставьте сюда. Бот сразу отвечает на /start приветствием, которое можно изменить.", "Connect a bot: create it with @BotFather, copy the token and paste it here. It answers /start with an editable greeting right away."),
    ("bots.connect", "Подключить", "Connect"),
    ("bots.no_bots_yet", "Ботов пока нет", "No bots yet"),
    ("bots.bot", "Бот", "Bot"),
    ("bots.status", "Статус", "Status"),
    ("bots.users", "Пользователи", "Users"),
    ("bots.in_out", "Входящие / исходящие", "In / out"),
    ("bots.owner", "Владелец", "Owner"),
    ("bots.last_error", "Ошибка", "Last error"),
    ("bots.company_bot", "бот компании", "company bot"),
    ("bots.on", "работает", "on"),
    ("bots.off", "выключен", "off"),
    ("bots.webhook", "вебхук", "webhook"),
    ("bots.long_polling", "опрос", "long polling"),
    ("bots.disable", "Выключить", "Disable"),
    ("bots.enable", "Включить", "Enable"),
    ("bots.make_company_bot", "Сделать ботом компании", "Make company bot"),
    ("bots.delete_the_bot_with", "Удалить бота вместе с диалогами и сценариями?", "Delete the bot with its chats and flows?"),
    ("bots.delete", "Удалить", "Delete"),
    ("bots.kind.message", "Сообщение", "Message"),
    ("bots.kind.question", "Вопрос", "Question"),
    ("bots.kind.menu", "Меню", "Menu"),
    ("bots.kind.condition", "Условие", "Condition"),
    ("bots.kind.set_var", "Переменная", "Set variable"),
    ("bots.kind.add_tag", "Тег", "Add tag"),
    ("bots.kind.delay", "Пауза", "Delay"),
    ("bots.kind.create_lead", "Создать лид", "Create lead"),
    ("bots.kind.register_partner", "Регистрация партнёра", "Register a partner"),
    ("bots.kind.handoff", "Оператору", "Hand off"),
    ("bots.kind.goto_flow", "Другой сценарий", "Go to flow"),
    ("bots.trigger.command", "Команда", "Command"),
    ("bots.trigger.keyword", "Ключевое слово", "Keyword"),
    ("bots.trigger.regex", "Регулярное выражение", "Regex"),
    ("bots.trigger.button", "Кнопка (данные)", "Button data"),
    ("bots.trigger.fallback", "Всё остальное", "Anything else"),
    ("bots.op.eq", "равно", "equals"),
    ("bots.op.ne", "не равно", "differs"),
    ("bots.op.contains", "содержит", "contains"),
    ("bots.op.gt", "больше", "greater"),
    ("bots.op.lt", "меньше", "less"),
    ("bots.op.is_set", "заполнена", "is set"),
    ("bots.op.is_empty", "пустая", "is empty"),
    ("bots.op.has_tag", "есть тег", "has tag"),
    ("bots.op.no_tag", "нет тега", "lacks tag"),
    ("bots.check.text", "Текст", "Text"),
    ("bots.check.number", "Число", "Number"),
    ("bots.check.phone", "Телефон", "Phone"),
    ("bots.check.email", "Email", "Email"),
    ("bots.check.choice", "Один из вариантов", "One of the choices"),
    ("bots.check.inn", "ИНН", "Taxpayer number (INN)"),
    ("bots.flows", "сценарии", "flows"),
    ("bots.unpublished_changes", "есть неопубликованные изменения", "unpublished changes"),
    ("bots.has_problems", "есть ошибки", "has problems"),
    ("bots.new_flow", "Новый сценарий", "New flow"),
    ("bots.this_flow_has_steps", "Этот сценарий содержит шаги, которые редактор не может показать. Чтобы ничего не потерять, он не открывается для правки — сценарий продолжает работать как опубликован.", "This flow has steps the editor can't show. To lose nothing it isn't opened for editing — the published flow keeps working."),
    ("bots.draft_saved", "Черновик сохранён", "Draft saved"),
    ("bots.published_version", "Опубликована версия", "Published version"),
    ("bots.unsaved", "не сохранено", "unsaved"),
    ("bots.add_step", "Добавить шаг", "Add step"),
    ("bots.save_draft", "Сохранить черновик", "Save draft"),
    ("bots.save_first", "Сначала сохраните", "Save first"),
    ("bots.publish", "Опубликовать", "Publish"),
    ("bots.delete_the_flow_conversations", "Удалить сценарий? Диалоги, которые сейчас в нём, остановятся; опубликованная версия тоже удаляется.", "Delete the flow? Conversations in it stop; the published version is deleted too."),
    ("bots.delete_flow", "Удалить сценарий", "Delete flow"),
    ("bots.can_t_publish", "Опубликовать нельзя:", "Can't publish:"),
    ("bots.click_a_step_to", "Выберите шаг на схеме, чтобы изменить его", "Click a step to edit it"),
    ("bots.starts_on", "Запуск:", "Starts on:"),
    ("bots.trigger", "+ запуск", "+ trigger"),
    ("bots.end", "— конец —", "— end —"),
    ("bots.next", "Дальше", "Next"),
    ("bots.text_html_variables_like", "Текст (HTML: <b>, <i>, <a>; переменные: {first_name})", "Text (HTML; variables like {first_name})"),
    ("bots.photo_url_or_file", "Фото (ссылка или file_id)", "Photo (URL or file_id)"),
    ("bots.document_url_or_file", "Документ (ссылка или file_id)", "Document (URL or file_id)"),
    ("bots.reply_keyboard_comma_separated", "Клавиатура ответа (через запятую)", "Reply keyboard (comma separated)"),
    ("bots.remove_keyboard", "Убрать клавиатуру", "Remove keyboard"),
    ("bots.question", "Вопрос", "Question"),
    ("bots.store_the_answer_in", "Сохранить ответ в переменную", "Store the answer in"),
    ("bots.answer_check", "Проверка ответа", "Answer check"),
    ("bots.choices_comma_separated", "Варианты (через запятую)", "Choices (comma separated)"),
    ("bots.error_text_optional", "Текст ошибки (необязательно)", "Error text (optional)"),
    ("bots.menu_text", "Текст меню", "Menu text"),
    ("bots.variable", "Переменная", "Variable"),
    ("bots.value_may_use_variables", "Значение (можно {переменные})", "Value (may use {variables})"),
    ("bots.tag", "Тег", "Tag"),
    ("bots.delay_seconds", "Пауза, секунд", "Delay, seconds"),
    ("bots.the_lead_goes_through", "Лид создаётся через проверку дублей; привязанный партнёр становится источником.", "The lead goes through duplicate control; a linked partner becomes its source."),
    ("bots.name_variable", "Переменная с именем", "Name variable"),
    ("bots.phone_variable", "Переменная с телефоном", "Phone variable"),
    ("bots.product_variable", "Переменная с продуктом", "Product variable"),
    ("bots.amount_variable", "Переменная с суммой", "Amount variable"),
    ("bots.the_web_registration_questionnaire", "Анкета, как при регистрации на сайте, из переменных role, full_name, phone, email, city, niche, legal_form, inn, company_name, referral_code. Регистрация ждёт одобрения; Telegram привязывается к новому аккаунту. Работает в боте компании.", "The web registration questionnaire, from the variables role, full_name, phone, email, city, niche, legal_form, inn, company_name, referral_code. The registration awaits approval; this Telegram is linked to the new account. Works in the company bot."),
    ("bots.message_to_the_customer", "Сообщение клиенту", "Message to the customer"),
    ("bots.flow", "Сценарий", "Flow"),
    ("bots.step_name_for_the", "Название шага (для схемы и ошибок)", "Step name (for the map and errors)"),
    ("bots.make_it_the_first", "Сделать первым шагом", "Make it the first step"),
    ("bots.delete_step", "Удалить шаг", "Delete step"),
    ("bots.inline_buttons", "Кнопки под сообщением", "Inline buttons"),
    ("bots.text", "Текст", "Text"),
    ("bots.next_2", "Далее", "Next"),
    ("bots.step_button", "+ кнопка-переход", "+ step button"),
    ("bots.website", "Сайт", "Website"),
    ("bots.link_button", "+ кнопка-ссылка", "+ link button"),
    ("bots.menu_items", "Пункты меню", "Menu items"),
    ("bots.item", "+ пункт", "+ item"),
    ("bots.rules_the_first_that", "Правила (первое выполненное ведёт дальше)", "Rules (the first that holds wins)"),
    ("bots.variable_2", "переменная", "variable"),
    ("bots.value", "значение", "value"),
    ("bots.rule", "+ правило", "+ rule"),
    ("bots.otherwise", "Иначе", "Otherwise"),
    ("bots.try_it", "Проверить", "Try it"),
    ("bots.restart", "Сначала", "Restart"),
    ("bots.type_as_a_customer", "Напишите как клиент, например /start", "Type as a customer, e.g. /start"),
    ("bots.send", "Отправить", "Send"),
    ("bots.inbox", "Диалоги", "Inbox"),
    ("bots.all_bots", "Все боты", "All bots"),
    ("bots.unread", "Непрочитанные", "Unread"),
    ("bots.waiting_for_an_operator", "Ждут оператора", "Waiting for an operator"),
    ("bots.search_the_history", "Поиск по переписке", "Search the history"),
    ("bots.no_conversations", "Диалогов нет", "No conversations"),
    ("bots.operator", "оператор", "operator"),
    ("bots.blocked_the_bot", "заблокировал бота", "blocked the bot"),
    ("bots.pick_a_conversation", "Выберите диалог слева", "Pick a conversation"),
    ("bots.take_over", "Взять диалог", "Take over"),
    ("bots.back_to_the_bot", "Вернуть боту", "Back to the bot"),
    ("bots.lead", "Лид №", "Lead #"),
    ("bots.lead_2", "№ лида", "Lead #"),
    ("bots.link_to_a_lead", "Связать с лидом", "Link to a lead"),
    ("bots.sending", "отправляется…", "sending…"),
    ("bots.not_delivered", "не доставлено:", "not delivered:"),
    ("bots.button", "Кнопка: ", "Button: "),
    ("bots.photo", "Фото", "Photo"),
    ("bots.reply_as_the_bot", "Ответ от имени бота", "Reply as the bot"),
    ("bots.caption", "Подпись", "Caption"),
    ("bots.send_file", "Отправить файл", "Send file"),
    ("bots.link_telegram_to_hand", "Привяжите Telegram, чтобы передавать заявки через бота компании и получать уведомления о статусах.", "Link Telegram to hand in leads through the company bot and get status notifications."),
    ("bots.link_telegram", "Привязать Telegram", "Link Telegram"),
    ("bots.open_in_telegram_valid", "Откройте ссылку в Telegram (действует 30 минут, один раз):", "Open in Telegram (valid 30 minutes, once):"),
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

    /// Every key the pages ask for is in the catalog (a missing one would
    /// show the key itself): `t("…")` calls and the keys in label tables
    /// (`=> "ns.key"`, `("code", "ns.key")`) of every source file.
    #[test]
    fn every_key_used_exists() {
        fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    sources(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let namespaces: std::collections::BTreeSet<&str> =
            CATALOG.iter().filter_map(|(k, _, _)| k.split('.').next()).collect();
        let mut files = vec![];
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut missing = vec![];
        let mut checked = 0;
        for f in files {
            if f.ends_with("i18n.rs") {
                continue; // the catalog and these tests
            }
            let text = std::fs::read_to_string(&f).unwrap();
            for (i, _) in text.match_indices('"') {
                let rest = &text[i + 1..];
                let Some(end) = rest.find('"') else { continue };
                let lit = &rest[..end];
                let before = text[..i].trim_end();
                // `t("…")`, not `get("…")` or `set("…")`.
                let is_call = before
                    .strip_suffix("t(")
                    .is_some_and(|b| !b.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.'));
                let looks_like_key = lit.split_once('.').is_some_and(|(ns, tail)| {
                    namespaces.contains(ns)
                        && !tail.is_empty()
                        && tail
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
                });
                let in_table = (before.ends_with("=>") || before.ends_with(',')) && looks_like_key;
                if is_call || in_table {
                    checked += 1;
                    if !CATALOG.iter().any(|(k, _, _)| *k == lit) {
                        missing.push(format!("{}: {lit}", f.display()));
                    }
                }
            }
        }
        assert!(checked > 500, "only {checked} keys found: the scan is broken");
        assert!(missing.is_empty(), "keys missing from the catalog: {missing:#?}");
    }
}
