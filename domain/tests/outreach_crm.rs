//! Outreach as the CRM runs it: a campaign made, filled (pasted, a file,
//! CRM clients by filter) and started with its input checked; a handed-
//! over dialog becomes one lead through duplicate control; the manager
//! writes as the account; and the matrix decides who sees and does what.

mod common;

use chrono::Duration;
use common::outreach::*;
use common::*;
use domain::outreach::campaigns::{self, CampaignAction, CampaignForm};
use domain::outreach::inbox::{self, DialogFilter};
use domain::outreach::roster::{self, AccountAction, AccountForm, LoginInput};
use domain::outreach::{targets, OutreachError};
use domain::types::Role;
use domain::PgPool;
use uuid::Uuid;

fn fields(e: OutreachError) -> Vec<String> {
    match e {
        OutreachError::Validation(f) => f.into_iter().map(|f| f.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_campaign_is_made_filled_and_run_from_the_crm(pool: PgPool) {
    let w = World::new(&pool);
    let admin = admin(&pool).await;
    let account = w.account(&admin, "+79990001001").await;

    // Bad input is refused field by field, nothing written.
    let bad = CampaignForm {
        name: " ".into(),
        first_message: String::new(),
        daily_cap: "много".into(),
        ..form("", &[], None)
    };
    let e = campaigns::create_campaign(&pool, &admin, bad).await.unwrap_err();
    assert_eq!(fields(e), ["name", "first_message", "daily_cap"]);
    let e = campaigns::create_campaign(&pool, &admin, form("Ипотека", &[Uuid::new_v4()], None))
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["account_ids"]);
    let partner = user_with_role(&pool, &admin, "partner@mak.test", Role::Partner).await;
    let e = campaigns::create_campaign(&pool, &admin, form("Ипотека", &[], Some(partner.user_id)))
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["manager_id"]);
    assert!(campaigns::campaigns(&pool, &admin).await.unwrap().is_empty());

    let id = campaigns::create_campaign(&pool, &admin, form("Ипотека", &[], None))
        .await
        .unwrap();
    // Nothing to write to, and nothing to write from.
    let e = campaigns::set_campaign_status(&pool, &admin, id, CampaignAction::Start)
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["account_ids"]);
    campaigns::update_campaign(&pool, &admin, id, form("Ипотека", &[account], None))
        .await
        .unwrap();
    let e = campaigns::set_campaign_status(&pool, &admin, id, CampaignAction::Start)
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["targets"]);

    // Pasted: handles as people type them, a name after a comma; a line
    // that is neither a username nor a phone is reported with its number.
    for (uid, user) in [(11, "ivan_petrov"), (12, "maria_s1"), (13, "oleg_k77")] {
        w.tg.add_person(uid, user, "", "Гость", false);
    }
    w.tg.add_person(14, "phone_person", "+79161234567", "Пётр", false);
    let added = targets::add_pasted(
        &pool,
        &admin,
        id,
        "@Ivan_Petrov, Иван\nhttps://t.me/maria_s1\nне логин!\n\n8 (916) 123-45-67; Пётр\n@ivan_petrov",
    )
    .await
    .unwrap();
    assert_eq!((added.added, added.repeated, added.bad), (3, 1, 1));
    assert_eq!(added.bad_lines[0].line, 3);
    // A file: the header names the columns; the rest are variables.
    let csv = "Username;Имя;rate\noleg_k77;Олег;5,9 %\n;;\nbad name;Кто;1\n";
    let added = targets::add_file(&pool, &admin, id, "база.csv", csv.as_bytes())
        .await
        .unwrap();
    assert_eq!((added.added, added.bad), (1, 1));
    let e = targets::add_file(&pool, &admin, id, "x.csv", b"a;b\n1;2\n")
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["file"]);
    // CRM clients by the lead list's filter: only with consent and a phone.
    domain::leads::create_lead(
        &pool,
        &admin,
        domain::leads::NewLead {
            tags: vec!["ипотека".into()],
            ..lead("Согласный Клиент", "+79035550001")
        },
    )
    .await
    .unwrap();
    let added = targets::add_clients(&pool, &admin, id, "tag=ипотека").await.unwrap();
    assert_eq!(added.added, 1);
    let added = targets::add_clients(&pool, &admin, id, "?tag=ипотека").await.unwrap();
    assert_eq!((added.added, added.repeated), (0, 1));

    campaigns::set_campaign_status(&pool, &admin, id, CampaignAction::Start)
        .await
        .unwrap();
    w.send(4).await;
    let texts: Vec<String> = w.tg.sent().into_iter().map(|s| s.text).collect();
    assert!(
        texts.contains(&"Здравствуйте, Олег! Подберём ипотеку под 5,9 %.".to_string()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"Здравствуйте, Иван! Подберём ипотеку под .".to_string()),
        "{texts:?}"
    );

    let row = campaigns::campaign(&pool, &admin, id).await.unwrap();
    assert_eq!((row.row.targets, row.row.contacted), (5, 4));
    assert_eq!(row.days.len(), 1);
    assert_eq!(row.days[0].contacted, 4);
    assert!(row.can_manage);

    // The account's caps from the CRM, checked; pausing holds its sends.
    let e = roster::set_account(
        &pool,
        &admin,
        account,
        AccountForm {
            title: "Отдел продаж".into(),
            daily_cap: "0".into(),
            min_delay_s: "30".into(),
            work_from: "20:00".into(),
            work_to: "10:00".into(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(fields(e), ["daily_cap", "work_to"]);
    roster::set_account_status(&pool, &admin, account, AccountAction::Pause)
        .await
        .unwrap();
    let before = w.tg.sent().len();
    w.clock.advance(Duration::minutes(5));
    w.o.send_due(10).await.unwrap();
    assert_eq!(w.tg.sent().len(), before, "a paused account writes nothing");
    let list = roster::accounts(&pool, &admin).await.unwrap();
    assert_eq!((list[0].status.as_str(), list[0].daily_cap), ("paused", 20));

    // Finishing stops whoever is still queued.
    campaigns::set_campaign_status(&pool, &admin, id, CampaignAction::Finish)
        .await
        .unwrap();
    let e = targets::add_pasted(&pool, &admin, id, "@someone_new")
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["targets"]);
    let page = inbox::dialogs(
        &pool,
        &admin,
        DialogFilter {
            status: "stopped".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(page.total, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_handed_over_dialog_becomes_one_lead_through_duplicate_control(pool: PgPool) {
    let w = World::new(&pool);
    let admin = admin(&pool).await;
    let manager = user_with_role(&pool, &admin, "manager@mak.test", Role::Employee).await;
    let account = w.account(&admin, "+79990001002").await;
    // A client the CRM knows by phone, and a stranger known by username.
    let (_, _, known) = created(
        domain::leads::create_lead(&pool, &admin, lead("Давний Клиент", "+79035550002"))
            .await
            .unwrap(),
    );
    w.tg.add_person(21, "known_client", "+79035550002", "Давний", false);
    w.tg.add_person(22, "new_person", "", "Новый", false);
    let id = campaigns::create_campaign(&pool, &admin, form("Вторичка", &[account], Some(manager.user_id)))
        .await
        .unwrap();
    targets::add_pasted(&pool, &admin, id, "+7 903 555-00-02\n@new_person")
        .await
        .unwrap();
    campaigns::set_campaign_status(&pool, &admin, id, CampaignAction::Start)
        .await
        .unwrap();
    w.send(2).await;

    // Both write a stop word: handed over at once.
    w.tg.reply(21, "+79990001002", "Позвоните мне вечером");
    w.tg.reply(22, "+79990001002", "Лучше позвоните");
    assert_eq!(w.o.receive().await.unwrap(), 2);
    let leads: Vec<(Uuid, String, Option<String>, String)> = sqlx::query_as(
        "select l.client_id, l.comment, d.name, t.status
         from outreach_targets t join leads l on l.id = t.lead_id
         left join dictionary_items d on d.id = l.source_id
         where t.campaign_id = $1 order by t.id",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(leads.len(), 2, "one lead for each dialog");
    // The known phone joined the client's card; the username made a client.
    assert_eq!(leads[0].0, known);
    assert_ne!(leads[1].0, known);
    for (_, comment, source, status) in &leads {
        assert_eq!(source.as_deref(), Some("Холодная база"));
        assert_eq!(status, "interested");
        assert!(comment.contains("Холодная рассылка «Вторичка»"), "{comment}");
        assert!(comment.contains("Мы: Здравствуйте"), "{comment}");
    }
    assert!(leads[1].1.contains("Клиент: Лучше позвоните"));
    // The manager's lead, with a bell that names it.
    let (responsible,): (Option<Uuid>,) =
        sqlx::query_as("select l.responsible_id from leads l join outreach_targets t on t.lead_id = l.id limit 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(responsible, Some(manager.user_id));
    let bells: i64 = sqlx::query_scalar(
        "select count(*) from notifications where user_id = $1 and title like 'Передан менеджеру%Лид №%'",
    )
    .bind(manager.user_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(bells, 2);

    // More messages, a take-over attempt: still the one lead.
    w.tg.reply(22, "+79990001002", "Жду звонка");
    assert_eq!(w.o.receive().await.unwrap(), 1);
    let dialogs = inbox::dialogs(&pool, &manager, DialogFilter::default()).await.unwrap();
    let d22 = dialogs.rows.iter().find(|d| d.handle == "@new_person").unwrap().id;
    let e = inbox::take_over(&pool, &manager, d22).await.unwrap_err();
    assert_eq!(fields(e), ["status"]);
    let n: i64 = sqlx::query_scalar("select count(*) from leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 3, "the known client's first lead and the two from outreach");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_manager_writes_as_the_account_and_sees_only_their_campaigns(pool: PgPool) {
    let w = World::new(&pool);
    let admin = admin(&pool).await;
    let manager = user_with_role(&pool, &admin, "manager@mak.test", Role::Employee).await;
    let other = user_with_role(&pool, &admin, "other@mak.test", Role::Employee).await;
    let partner = user_with_role(&pool, &admin, "partner@mak.test", Role::Partner).await;
    let account = w.account(&admin, "+79990001003").await;
    w.tg.add_person(31, "first_person", "", "Ольга", false);
    w.tg.add_person(32, "second_person", "", "Денис", false);
    let mine = campaigns::create_campaign(&pool, &admin, form("Моя", &[account], Some(manager.user_id)))
        .await
        .unwrap();
    let theirs = campaigns::create_campaign(&pool, &admin, form("Чужая", &[account], Some(other.user_id)))
        .await
        .unwrap();
    targets::add_pasted(&pool, &admin, mine, "@first_person").await.unwrap();
    targets::add_pasted(&pool, &admin, theirs, "@second_person")
        .await
        .unwrap();
    for c in [mine, theirs] {
        campaigns::set_campaign_status(&pool, &admin, c, CampaignAction::Start)
            .await
            .unwrap();
    }
    w.send(2).await;

    // Employees see their own campaigns' dialogs; partners see nothing.
    let seen = campaigns::campaigns(&pool, &manager).await.unwrap();
    assert_eq!(seen.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["Моя"]);
    let page = inbox::dialogs(&pool, &manager, DialogFilter::default()).await.unwrap();
    assert_eq!(page.rows.len(), 1);
    let dialog = page.rows[0].id;
    let foreign = inbox::dialogs(&pool, &other, DialogFilter::default())
        .await
        .unwrap()
        .rows[0]
        .id;
    assert!(matches!(
        inbox::dialog(&pool, &manager, foreign).await,
        Err(OutreachError::Rbac(_))
    ));
    assert!(matches!(
        campaigns::campaigns(&pool, &partner).await,
        Err(OutreachError::Rbac(_))
    ));
    // Managers run dialogs, not campaigns or accounts.
    assert!(matches!(
        campaigns::create_campaign(&pool, &manager, form("Своя", &[], None)).await,
        Err(OutreachError::Rbac(_))
    ));
    assert!(matches!(
        roster::set_account_status(&pool, &manager, account, AccountAction::Disable).await,
        Err(OutreachError::Rbac(_))
    ));
    assert!(matches!(
        w.o.login_step(&manager, "+79990009999", LoginInput::Phone, "").await,
        Err(OutreachError::Rbac(_))
    ));
    assert!(matches!(
        w.o.write(&manager, foreign, "Здравствуйте").await,
        Err(OutreachError::Rbac(_))
    ));

    // Writing takes the dialog over: the AI stops, a lead is born, and the
    // person gets it from the same account.
    let e = w.o.write(&manager, dialog, "   ").await.unwrap_err();
    assert_eq!(fields(e), ["text"]);
    // The account's ordinary delay doesn't hold a person's reply back; a
    // FLOOD_WAIT does.
    sqlx::query("update outreach_accounts set next_send_at = $2, flood_until = $2 where id = $1")
        .bind(account)
        .bind(morning() + Duration::days(1))
        .execute(&pool)
        .await
        .unwrap();
    let e = w.o.write(&manager, dialog, "Здравствуйте").await.unwrap_err();
    assert_eq!(fields(e), ["text"]);
    sqlx::query("update outreach_accounts set flood_until = null where id = $1")
        .bind(account)
        .execute(&pool)
        .await
        .unwrap();
    w.o.write(
        &manager,
        dialog,
        "Добрый день! Я Анна, менеджер. Когда удобно созвониться?",
    )
    .await
    .unwrap();
    let last = w.tg.sent().last().unwrap().clone();
    assert_eq!((last.phone.as_str(), last.to_user_id), ("+79990001003", 31));
    let d = inbox::dialog(&pool, &manager, dialog).await.unwrap();
    assert_eq!(d.row.status, "interested");
    assert!(d.row.lead_number.is_some());
    assert_eq!(d.messages.last().unwrap().author, "Сотрудник Тестовый");
    assert!(d.can_send && d.can_export);

    // The transcript, with the person's reply.
    w.tg.reply(31, "+79990001003", "Завтра после обеда");
    w.o.receive().await.unwrap();
    let (name, text) = inbox::export_dialog(&pool, &manager, dialog).await.unwrap();
    assert_eq!(name, format!("dialog-{dialog}.txt"));
    assert!(text.contains("Кампания: Моя"), "{text}");
    assert!(text.contains("@first_person: Завтра после обеда"), "{text}");
    assert!(text.contains("Мы (Сотрудник Тестовый): Добрый день!"), "{text}");
    assert!(matches!(
        inbox::export_dialog(&pool, &other, dialog).await,
        Err(OutreachError::Rbac(_))
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn open_pages_hear_of_a_dialogs_reply_only_when_the_campaign_is_theirs(pool: PgPool) {
    use domain::realtime::{self, Event, Hub, Topic};
    let w = World::new(&pool);
    let admin = admin(&pool).await;
    let manager = user_with_role(&pool, &admin, "manager@mak.test", Role::Employee).await;
    let other = user_with_role(&pool, &admin, "other@mak.test", Role::Employee).await;
    let account = w.account(&admin, "+79990001004").await;
    w.tg.add_person(41, "live_person", "", "Вера", false);
    let c = campaigns::create_campaign(&pool, &admin, form("Живая", &[account], Some(manager.user_id)))
        .await
        .unwrap();
    targets::add_pasted(&pool, &admin, c, "@live_person").await.unwrap();
    campaigns::set_campaign_status(&pool, &admin, c, CampaignAction::Start)
        .await
        .unwrap();
    w.send(1).await;
    let dialog = inbox::dialogs(&pool, &manager, DialogFilter::default())
        .await
        .unwrap()
        .rows[0]
        .id;

    let hub = Hub::start(pool.clone());
    let mut rx = hub.subscribe();
    // The listener is up once an event of our own comes back (one sent
    // before it listened is lost, so it is sent again until then).
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let mut tx = pool.begin().await.unwrap();
            realtime::publish(&mut tx, &Event::PipelinesChanged).await.unwrap();
            tx.commit().await.unwrap();
            let got = tokio::time::timeout(std::time::Duration::from_millis(200), rx.recv()).await;
            if matches!(got, Ok(Ok(Event::PipelinesChanged))) {
                break;
            }
        }
    })
    .await
    .unwrap();

    w.tg.reply(41, "+79990001004", "Да, расскажите");
    assert_eq!(w.o.receive().await.unwrap(), 1);
    let ev = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            if let ev @ Event::OutreachChanged { target_id: Some(_), .. } = rx.recv().await.unwrap() {
                return ev;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(
        ev.topics(manager.user_id),
        vec![
            Topic::Outreach,
            Topic::OutreachCampaign(c),
            Topic::OutreachDialog(dialog)
        ]
    );
    assert!(realtime::visible_to(&pool, &manager, &ev).await);
    assert!(realtime::visible_to(&pool, &admin, &ev).await);
    assert!(!realtime::visible_to(&pool, &other, &ev).await, "not their campaign");
    assert!(realtime::visible_to(&pool, &manager, &Event::OutreachAccountsChanged).await);
}
