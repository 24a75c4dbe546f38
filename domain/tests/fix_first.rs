//! The findings of the end-to-end security review ("Fix first"): each test
//! failed before its fix.

mod common;

use common::*;
use domain::accounts::{self, AccountsError};
use domain::leads::{self, CreateOutcome, LeadFilter, LeadUpdate, LeadsError, NewLead};
use domain::rbac::{self, RbacError};
use domain::types::{Action, Resource, Role, Scope};
use domain::PgPool;

/// Two partners; the first has handed in a lead for «Клиент Первого»
/// (+79990000001). Returns both and that client.
async fn two_partners_and_the_first_ones_client(pool: &PgPool) -> (domain::Actor, domain::Actor, uuid::Uuid) {
    let admin = admin(pool).await;
    let p1 = user_with_role(pool, &admin, "p1@example.ru", Role::Partner).await;
    let p2 = user_with_role(pool, &admin, "p2@example.ru", Role::Partner).await;
    let (_, _, client) = created(
        leads::create_lead(pool, &p1, lead("Клиент Первого", "+79990000001"))
            .await
            .unwrap(),
    );
    (p1, p2, client)
}

fn denied<T: std::fmt::Debug>(r: Result<T, AccountsError>) -> bool {
    matches!(r, Err(AccountsError::Rbac(RbacError::NotAllowed)))
}

#[sqlx::test(migrations = "../migrations")]
async fn a_pending_registrant_can_do_nothing_but_see_itself(pool: PgPool) {
    let _admin = admin(&pool).await;
    let guest = user_with_role(&pool, &_admin, "applicant@example.ru", Role::Guest).await;
    assert!(!guest.active);

    assert!(denied(
        accounts::approve_registration(&pool, &guest, guest.user_id, Role::Franchisee).await
    ));
    assert!(denied(
        accounts::reject_registration(&pool, &guest, guest.user_id).await
    ));
    assert!(denied(
        accounts::issue_token(&pool, &guest, guest.user_id, "mine", None).await
    ));
    assert!(matches!(
        leads::list_leads(&pool, &guest, LeadFilter::default()).await,
        Err(LeadsError::Rbac(RbacError::NotAllowed))
    ));
    let me = accounts::get_user(&pool, &guest, guest.user_id).await.unwrap();
    assert_eq!(me.status.as_str(), "pending", "nothing changed");
}

#[sqlx::test(migrations = "../migrations")]
async fn nobody_grants_or_manages_a_role_above_their_own_whatever_the_matrix_says(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    let other_admin = user_with_role(&pool, &admin, "a2@mak.test", Role::Admin).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    for action in [Action::Create, Action::Edit, Action::Approve] {
        rbac::set_permission(&pool, &admin, Role::Employee, Resource::Users, action, Scope::All)
            .await
            .unwrap();
    }

    let invite = accounts::invite(
        &pool,
        &employee,
        accounts::InviteInput {
            email: "boss@mak.test".into(),
            role: Role::Admin,
        },
    )
    .await;
    assert!(
        matches!(invite, Err(AccountsError::Validation(ref f)) if f[0].field == "role"),
        "{invite:?}"
    );
    let promote = accounts::change_role(&pool, &employee, partner.user_id, Role::Admin).await;
    assert!(matches!(promote, Err(AccountsError::Validation(_))), "{promote:?}");
    assert!(denied(
        accounts::block_user(&pool, &employee, other_admin.user_id).await
    ));

    // What the employee may do still works.
    let applicant = accounts::register(&pool, registration("new@example.ru")).await.unwrap();
    accounts::approve_registration(&pool, &employee, applicant, Role::Partner)
        .await
        .unwrap();
    accounts::block_user(&pool, &employee, partner.user_id).await.unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn attaching_to_a_client_needs_the_right_to_see_that_client(pool: PgPool) {
    let (_, p2, client) = two_partners_and_the_first_ones_client(&pool).await;

    let attach = leads::create_lead(
        &pool,
        &p2,
        NewLead {
            attach_to_client: Some(client),
            ..lead("", "")
        },
    )
    .await;
    assert!(
        matches!(attach, Err(LeadsError::Validation(ref f)) if f[0].field == "attach_to_client"),
        "{attach:?}"
    );
    let leads_of_client: i64 = sqlx::query_scalar("select count(*) from leads where client_id = $1")
        .bind(client)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(leads_of_client, 1, "nothing attached");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_partner_bringing_a_known_client_learns_nothing_and_the_lead_goes_to_hq_for_review(pool: PgPool) {
    let (p1, p2, client) = two_partners_and_the_first_ones_client(&pool).await;

    let out = leads::create_lead(&pool, &p2, lead("Тот же", "8 999 000 00 01"))
        .await
        .unwrap();
    let CreateOutcome::SentForReview { id, number } = out else {
        panic!("expected review, got {out:?}")
    };
    let json = serde_json::to_string(&out).unwrap();
    assert!(
        !json.contains(&client.to_string()) && !json.contains("Клиент Первого"),
        "{json}"
    );

    let row: (bool, Option<uuid::Uuid>, uuid::Uuid) =
        sqlx::query_as("select unsorted, duplicate_of_client_id, client_id from leads where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(row, (true, Some(client), row.2));
    assert_ne!(row.2, client, "the partner's lead keeps its own client record");
    let card = leads::get_lead(&pool, &p2, number).await.unwrap();
    assert_eq!(card.lead.client_name, "Тот же");
    let told: i64 =
        sqlx::query_scalar("select count(*) from notifications where user_id = $1 and title like 'Повторное%'")
            .bind(p1.user_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(told, 1, "the known client's owner hears of it");
}

#[sqlx::test(migrations = "../migrations")]
async fn attaching_is_checked_against_the_phone_the_form_holds_now(pool: PgPool) {
    let admin = admin(&pool).await;
    let (_, _, client) = created(
        leads::create_lead(&pool, &admin, lead("Иванов", "+79990000001"))
            .await
            .unwrap(),
    );
    let out = leads::create_lead(
        &pool,
        &admin,
        NewLead {
            attach_to_client: Some(client),
            ..lead("Петров", "+79990000002")
        },
    )
    .await;
    assert!(
        matches!(out, Err(LeadsError::Validation(ref f)) if f[0].field == "phone"),
        "{out:?}"
    );
    let phones: i64 = sqlx::query_scalar("select count(*) from client_phones where client_id = $1")
        .bind(client)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(phones, 1, "the other person's phone was not added");
}

#[sqlx::test(migrations = "../migrations")]
async fn without_client_rights_personal_data_is_masked_on_every_path(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    let (_, number, _) = created(
        leads::create_lead(&pool, &admin, lead("Иванов Иван Иванович", "+79991234567"))
            .await
            .unwrap(),
    );
    rbac::set_permission(
        &pool,
        &admin,
        Role::Employee,
        Resource::Clients,
        Action::View,
        Scope::None,
    )
    .await
    .unwrap();

    let list = leads::list_leads(&pool, &employee, LeadFilter::default())
        .await
        .unwrap();
    assert_eq!(list.items[0].phone.as_deref(), Some("+7999*****67"));
    assert_eq!(list.items[0].client_name, "Иванов И. И.");
    let card = leads::get_lead(&pool, &employee, number).await.unwrap();
    assert_eq!(card.phones, vec!["+7999*****67".to_string()]);
    assert_eq!(card.lead.client_name, "Иванов И. И.");
    let board = leads::board(&pool, &employee, None, 50).await.unwrap();
    let cards: Vec<_> = board.columns.iter().flat_map(|c| c.cards.iter()).collect();
    assert!(cards.iter().all(|c| c.phone.as_deref() == Some("+7999*****67")));
    // The admin still sees them.
    let card = leads::get_lead(&pool, &admin, number).await.unwrap();
    assert_eq!(card.phones, vec!["+79991234567".to_string()]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_partner_only_comments_on_its_lead_and_never_sees_staff_notes(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let (id, number, _) = created(
        leads::create_lead(&pool, &partner, lead("Клиент", "+79990000001"))
            .await
            .unwrap(),
    );
    leads::add_comment(&pool, &admin, id, "Клиент ненадёжный, внутреннее")
        .await
        .unwrap();
    leads::update_lead(
        &pool,
        &admin,
        id,
        LeadUpdate {
            amount: Some("1 000 000".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let edit = leads::update_lead(
        &pool,
        &partner,
        id,
        LeadUpdate {
            amount: Some("5".into()),
            responsible_id: Some(Some(partner.user_id)),
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(edit, Err(LeadsError::PartnerEditsNothing)), "{edit:?}");
    let stage: uuid::Uuid = sqlx::query_scalar("select id from stages order by position limit 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(matches!(
        leads::move_lead_to_stage(&pool, &partner, id, stage).await,
        Err(LeadsError::StageSetByStaff)
    ));
    leads::add_comment(&pool, &partner, id, "Клиент ждёт звонка")
        .await
        .unwrap();

    let card = leads::get_lead(&pool, &partner, number).await.unwrap();
    assert!(!card.may_edit && !card.internal);
    let texts: Vec<_> = card
        .timeline
        .iter()
        .map(|t| (t.kind.as_str(), t.text.as_str()))
        .collect();
    assert!(texts.contains(&("comment", "Клиент ждёт звонка")), "{texts:?}");
    assert!(
        !texts.iter().any(|(k, t)| t.contains("внутреннее") || *k == "update"),
        "{texts:?}"
    );
    assert_eq!(card.lead.amount.map(|m| m.kopecks()), Some(100_000_000));
    let staff_card = leads::get_lead(&pool, &admin, number).await.unwrap();
    assert!(staff_card.timeline.iter().any(|t| t.text.contains("внутреннее")));
}

#[sqlx::test(migrations = "../migrations")]
async fn an_absurd_page_number_is_an_empty_page_not_a_panic(pool: PgPool) {
    let admin = admin(&pool).await;
    let page = leads::list_leads(
        &pool,
        &admin,
        LeadFilter {
            page: i64::MAX,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(page.items.is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn one_address_can_apply_five_times_an_hour(pool: PgPool) {
    admin(&pool).await;
    for i in 0..5 {
        let mut r = registration(&format!("a{i}@example.ru"));
        r.ip = Some("10.200.0.1".parse().unwrap());
        accounts::register(&pool, r).await.unwrap();
    }
    let mut r = registration("a6@example.ru");
    r.ip = Some("10.200.0.1".parse().unwrap());
    assert!(matches!(
        accounts::register(&pool, r).await,
        Err(AccountsError::RegistrationThrottled)
    ));
    let mut r = registration("a7@example.ru");
    r.ip = Some("10.200.0.2".parse().unwrap());
    accounts::register(&pool, r).await.unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn overlong_or_binary_text_is_a_field_error_not_a_failure(pool: PgPool) {
    let admin = admin(&pool).await;
    let huge = leads::create_lead(&pool, &admin, lead(&"Я".repeat(10_000), "+79990000001")).await;
    assert!(
        matches!(huge, Err(LeadsError::Validation(ref f)) if f[0].field == "client_name"),
        "{huge:?}"
    );
    let nul = leads::create_lead(&pool, &admin, lead("Иван\u{0}", "+79990000001")).await;
    assert!(
        matches!(nul, Err(LeadsError::Validation(ref f)) if f[0].field == "client_name"),
        "{nul:?}"
    );
    let (id, ..) = created(
        leads::create_lead(&pool, &admin, lead("Иван", "+79990000001"))
            .await
            .unwrap(),
    );
    let comment = leads::add_comment(&pool, &admin, id, &"x".repeat(5001)).await;
    assert!(matches!(comment, Err(LeadsError::Validation(_))), "{comment:?}");
    let far = chrono::Utc::now() + chrono::Duration::days(365 * 90_000);
    let task = domain::tasks::create_task(&pool, &admin, id, "Позвонить", far, None).await;
    assert!(
        matches!(task, Err(domain::tasks::TaskError::Validation(ref f)) if f[0].field == "due"),
        "{task:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_deleted_lead_is_gone_from_every_list_but_kept_and_audited(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    let (id, number, client) = created(
        leads::create_lead(&pool, &admin, lead("Удалов", "+79990000001"))
            .await
            .unwrap(),
    );
    assert!(matches!(
        leads::delete_lead(&pool, &employee, id).await,
        Err(LeadsError::Rbac(RbacError::NotAllowed))
    ));
    assert_eq!(leads::delete_lead(&pool, &admin, id).await.unwrap(), number);

    assert_eq!(
        leads::list_leads(&pool, &admin, LeadFilter::default())
            .await
            .unwrap()
            .total,
        0
    );
    assert!(matches!(
        leads::get_lead(&pool, &admin, number).await,
        Err(LeadsError::NotFound(leads::Missing::Lead))
    ));
    assert!(leads::get_client(&pool, &admin, client).await.unwrap().leads.is_empty());
    assert!(matches!(
        leads::add_comment(&pool, &admin, id, "после удаления").await,
        Err(LeadsError::NotFound(leads::Missing::Lead))
    ));
    let kept: i64 = sqlx::query_scalar("select count(*) from leads where id = $1 and deleted_at is not null")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 1);
    let audited: i64 = sqlx::query_scalar("select count(*) from audit_log where entity = 'lead' and action = 'delete'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(audited, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_clients_contacts_are_edited_on_its_page_with_duplicate_control(pool: PgPool) {
    let admin = admin(&pool).await;
    let (_, _, ivanov) = created(
        leads::create_lead(&pool, &admin, lead("Иванов", "+79990000001"))
            .await
            .unwrap(),
    );
    created(
        leads::create_lead(&pool, &admin, lead("Петров", "+79990000002"))
            .await
            .unwrap(),
    );
    let edit = |phones: Vec<&str>| leads::ClientContacts {
        full_name: "Иванов Иван".into(),
        city: "Казань".into(),
        phones: phones.into_iter().map(Into::into).collect(),
        emails: vec!["ivanov@mail.ru".into()],
    };
    let taken = leads::edit_client(&pool, &admin, ivanov, edit(vec!["8 999 000-00-02"])).await;
    assert!(
        matches!(taken, Err(LeadsError::Validation(ref f)) if f[0].field == "phones" && f[0].message.contains("Петров")),
        "{taken:?}"
    );
    leads::edit_client(&pool, &admin, ivanov, edit(vec!["8 (916) 123-45-67", "+79990000001"]))
        .await
        .unwrap();
    let card = leads::get_client(&pool, &admin, ivanov).await.unwrap();
    assert_eq!(card.full_name, "Иванов Иван");
    assert_eq!(
        card.phones,
        ["+79161234567", "+79990000001"],
        "the first is the main one"
    );
    assert_eq!(card.emails, ["ivanov@mail.ru"]);
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    assert!(matches!(
        leads::edit_client(&pool, &partner, ivanov, edit(vec!["+79990000001"])).await,
        Err(LeadsError::Rbac(RbacError::NotAllowed))
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_partner_hears_of_its_leads_stage_changes_in_the_bell(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let (id, number, _) = created(
        leads::create_lead(&pool, &partner, lead("Клиент", "+79990000001"))
            .await
            .unwrap(),
    );
    domain::events::dispatch_once(&pool).await.unwrap(); // the partner's approval
    let before = domain::notifications::recent(&pool, &partner, 10).await.unwrap().len();
    let (stage, name): (uuid::Uuid, String) =
        sqlx::query_as("select id, name from stages order by position offset 1 limit 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    leads::move_lead_to_stage(&pool, &admin, id, stage).await.unwrap();
    // Told by the domain-events dispatcher, exactly once however often it
    // runs: one event, handed to each of the three subscribers (the
    // notices, the webhooks and amoCRM's outbox).
    assert_eq!(domain::events::dispatch_once(&pool).await.unwrap(), 3);
    assert_eq!(domain::events::dispatch_once(&pool).await.unwrap(), 0);
    let notes = domain::notifications::recent(&pool, &partner, 10).await.unwrap();
    assert_eq!(notes.len(), before + 1, "{notes:?}");
    assert_eq!(notes[0].title, "Статус заявки изменён");
    assert!(
        notes[0].body.contains(&format!("№{number}")) && notes[0].body.contains(&name),
        "{:?}",
        notes[0]
    );
    assert_eq!(notes[0].link.as_deref(), Some(format!("/leads/{number}").as_str()));
    // Staff hear nothing of their own move.
    assert!(domain::notifications::recent(&pool, &admin, 10)
        .await
        .unwrap()
        .iter()
        .all(|n| n.title != "Статус заявки изменён"));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_quick_search_follows_every_change_of_a_clients_name_and_contacts(pool: PgPool) {
    let admin = admin(&pool).await;
    let (_, number, client) = created(
        leads::create_lead(&pool, &admin, lead("Старое Имя", "+79990000001"))
            .await
            .unwrap(),
    );
    let found = |q: &'static str| {
        let pool = pool.clone();
        let admin = admin.clone();
        async move {
            leads::list_leads(
                &pool,
                &admin,
                LeadFilter {
                    query: q.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .items
            .iter()
            .map(|l| l.number)
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("999").await, [number], "three digits find the phone");
    assert_eq!(found("старое").await, [number]);
    leads::edit_client(
        &pool,
        &admin,
        client,
        leads::ClientContacts {
            full_name: "Новое Имя".into(),
            city: String::new(),
            phones: vec!["8 (916) 555-44-33".into()],
            emails: vec!["novoe@mail.ru".into()],
        },
    )
    .await
    .unwrap();
    assert!(found("старое").await.is_empty() && found("999").await.is_empty());
    assert_eq!(found("новое").await, [number]);
    assert_eq!(found("+7 916 555").await, [number]);
    assert_eq!(found("916").await, [number], "three digits follow the new phone");
    assert_eq!(found("novoe@mail").await, [number]);
    // A lead that moves to another client (a merge) takes that client's contacts.
    let (_, other, main) = created(
        leads::create_lead(&pool, &admin, lead("Главный Клиент", "+79990000009"))
            .await
            .unwrap(),
    );
    leads::merge_clients(
        &pool,
        &admin,
        leads::MergeInput {
            main,
            other: client,
            full_name: "Главный Клиент".into(),
            city: None,
        },
    )
    .await
    .unwrap();
    let mut both = found("главный").await;
    both.sort();
    assert_eq!(both, [number, other]);
    assert_eq!(
        found("555-44-33").await,
        [number, other].iter().rev().copied().collect::<Vec<_>>()
    );
}

/// The outbox: an event written with a change is handed to its subscriber
/// once; a change rolled back leaves no event; a failing subscriber keeps
/// its place and retries, then gives up after the last attempt and moves on.
#[sqlx::test(migrations = "../migrations")]
async fn domain_events_reach_their_subscriber_once_and_a_failure_is_retried_then_given_up(pool: PgPool) {
    use domain::events::{self, DomainEvent, Origin};
    let admin = admin(&pool).await;
    events::dispatch_once(&pool).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let ghost = DomainEvent::LeadAssigned {
        lead_id: uuid::Uuid::new_v4(),
        user_id: admin.user_id,
    };
    events::emit(&mut tx, Some(&admin), Origin::User, ghost).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        events::dispatch_once(&pool).await.unwrap(),
        0,
        "rolled back: nothing to hand over"
    );

    // An event about a lead that doesn't exist makes the subscriber fail.
    let mut tx = pool.begin().await.unwrap();
    let broken = DomainEvent::LeadStageChanged {
        lead_id: uuid::Uuid::new_v4(),
        stage: "Выдача".into(),
        stage_kind: "open".into(),
    };
    events::emit(&mut tx, Some(&admin), Origin::User, broken).await.unwrap();
    tx.commit().await.unwrap();
    // The notices fail on it; the webhooks (no subscription listens) and
    // amoCRM's outbox (not connected) pass it.
    assert_eq!(events::dispatch_once(&pool).await.unwrap(), 2);
    let (attempts, dead): (i32, bool) = sqlx::query_as("select attempts, dead from event_failures")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((attempts, dead), (1, false));
    // It waits before retrying; when its time comes it fails again, and
    // after the last attempt it is given up so later events flow.
    for _ in 0..10 {
        sqlx::query("update event_cursors set retry_at = now() - interval '1 second'")
            .execute(&pool)
            .await
            .unwrap();
        events::dispatch_once(&pool).await.unwrap();
    }
    let (attempts, dead): (i32, bool) = sqlx::query_as("select attempts, dead from event_failures")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((attempts, dead), (8, true));
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    assert_eq!(
        events::dispatch_once(&pool).await.unwrap(),
        3,
        "the approval after it is told (and handed to the webhooks and amoCRM's outbox)"
    );
    assert!(domain::notifications::recent(&pool, &partner, 10)
        .await
        .unwrap()
        .iter()
        .any(|n| n.title == "Заявка одобрена"));
}
