mod common;

use common::*;
use domain::leads::{self, CreateOutcome, LeadFilter, LeadsError, NewLead};
use domain::rbac::RbacError;
use domain::types::Role;
use domain::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn a_known_phone_in_another_format_is_flagged_and_can_be_attached(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    let (_, _, client) = created(
        leads::create_lead(&pool, &admin, lead("Иванов Иван", "+7 (999) 123-45-67"))
            .await
            .unwrap(),
    );

    let CreateOutcome::Duplicates(m) = leads::create_lead(&pool, &employee, lead("Иван И.", "89991234567"))
        .await
        .unwrap()
    else {
        panic!("the duplicate must be flagged");
    };
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].client_id, client);
    assert_eq!(m[0].matched_on, "phone");
    assert_eq!(
        m[0].full_name.as_deref(),
        Some("Иванов Иван"),
        "employees see all clients"
    );
    assert_eq!(
        domain::notifications::unread_count(&pool, &admin).await.unwrap(),
        1,
        "the responsible manager is told"
    );
    let leads_before: i64 = sqlx::query_scalar("select count(*) from leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(leads_before, 1, "nothing is written on a match");

    let attach = NewLead {
        attach_to_client: Some(client),
        ..lead("", "9991234567")
    };
    let (_, _, c2) = created(leads::create_lead(&pool, &employee, attach).await.unwrap());
    assert_eq!(c2, client);
    let clients: i64 = sqlx::query_scalar("select count(*) from clients")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(clients, 1);

    let anyway = NewLead {
        create_anyway: true,
        ..lead("Другой Иван", "+79991234567")
    };
    let (_, _, c3) = created(leads::create_lead(&pool, &employee, anyway).await.unwrap());
    assert_ne!(c3, client);
}

#[sqlx::test(migrations = "../migrations")]
async fn emails_match_case_insensitively(pool: PgPool) {
    let admin = admin(&pool).await;
    let first = NewLead {
        email: "Client@Mail.ru".into(),
        ..lead("Клиент", "")
    };
    created(leads::create_lead(&pool, &admin, first).await.unwrap());
    let again = NewLead {
        email: " client@mail.RU ".into(),
        ..lead("Клиент 2", "")
    };
    let CreateOutcome::Duplicates(m) = leads::create_lead(&pool, &admin, again).await.unwrap() else {
        panic!("flag")
    };
    assert_eq!(m[0].matched_on, "email");
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_lead_input_is_reported_per_field(pool: PgPool) {
    let admin = admin(&pool).await;
    let bad = NewLead {
        amount: "много".into(),
        consent: false,
        ..lead("", "12")
    };
    let Err(LeadsError::Validation(f)) = leads::create_lead(&pool, &admin, bad).await else {
        panic!("validation")
    };
    let names: Vec<_> = f.iter().map(|f| f.field.as_str()).collect();
    for n in ["phone", "client_name", "amount", "consent"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn partners_see_only_their_own_leads_and_duplicates_stay_anonymous(pool: PgPool) {
    let admin = admin(&pool).await;
    let p1 = user_with_role(&pool, &admin, "p1@example.ru", Role::Partner).await;
    let p2 = user_with_role(&pool, &admin, "p2@example.ru", Role::Partner).await;
    let (_, n1, _) = created(
        leads::create_lead(&pool, &p1, lead("Клиент Первого", "+79990000001"))
            .await
            .unwrap(),
    );
    created(
        leads::create_lead(&pool, &p2, lead("Клиент Второго", "+79990000002"))
            .await
            .unwrap(),
    );

    let mine = leads::list_leads(&pool, &p1, LeadFilter::default()).await.unwrap();
    assert_eq!(mine.total, 1);
    assert!(mine.items[0].unsorted, "partner leads land in the unsorted inbox");
    assert_eq!(mine.items[0].partner_name.as_deref(), Some("Иванов Иван Иванович"));
    assert!(matches!(
        leads::get_lead(&pool, &p2, n1).await,
        Err(LeadsError::Rbac(RbacError::NotAllowed))
    ));
    let out = leads::create_lead(&pool, &p2, lead("Тот же", "8 999 000 00 01"))
        .await
        .unwrap();
    assert!(
        matches!(out, CreateOutcome::SentForReview { .. }),
        "another partner's client is not revealed: {out:?}"
    );
    let all = leads::list_leads(&pool, &admin, LeadFilter::default()).await.unwrap();
    assert_eq!(all.total, 3, "the second partner's lead waits for review");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_list_searches_phones_in_any_format_filters_and_sorts(pool: PgPool) {
    let admin = admin(&pool).await;
    for (name, phone, amount) in [
        ("Анна", "+79991234567", "100000"),
        ("Борис", "+79997654321", "2 500 000"),
        ("Вера", "+79161112233", ""),
    ] {
        let l = NewLead {
            amount: amount.into(),
            ..lead(name, phone)
        };
        created(leads::create_lead(&pool, &admin, l).await.unwrap());
    }
    let find = |q: &str| LeadFilter {
        query: q.into(),
        ..Default::default()
    };
    let r = leads::list_leads(&pool, &admin, find("9991234567")).await.unwrap();
    assert_eq!(r.total, 1);
    assert_eq!(r.items[0].client_name, "Анна");
    assert_eq!(
        leads::list_leads(&pool, &admin, find("+7 (999) 123-45-67"))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(leads::list_leads(&pool, &admin, find("бор")).await.unwrap().total, 1);
    let rich = LeadFilter {
        amount_from: Some(domain::types::Money::parse("1000000").unwrap()),
        ..Default::default()
    };
    assert_eq!(
        leads::list_leads(&pool, &admin, rich).await.unwrap().items[0].client_name,
        "Борис"
    );
    let sorted = LeadFilter {
        sort: leads::LeadSort::AmountAsc,
        ..Default::default()
    };
    let names: Vec<_> = leads::list_leads(&pool, &admin, sorted)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|l| l.client_name)
        .collect();
    assert_eq!(names, ["Анна", "Борис", "Вера"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn moving_to_a_won_stage_closes_the_lead_and_is_audited(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let (id, number, _) = created(
        leads::create_lead(&pool, &admin, lead("Клиент", "+79990000009"))
            .await
            .unwrap(),
    );
    let pipes = leads::pipelines(&pool).await.unwrap();
    let won = pipes[0].stages.iter().find(|s| s.kind == "won").unwrap().id;
    assert!(matches!(
        leads::move_lead_to_stage(&pool, &partner, id, won).await,
        Err(LeadsError::Rbac(RbacError::NotAllowed))
    ));
    leads::move_lead_to_stage(&pool, &admin, id, won).await.unwrap();
    let closed: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar("select closed_at from leads where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(closed.is_some());
    let card = leads::get_lead(&pool, &admin, number).await.unwrap();
    assert_eq!(card.lead.stage_name.as_deref(), Some("Сделка"));
    assert!(card.timeline.iter().any(|t| t.kind == "move"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_reminder_fires_once_even_with_two_workers(pool: PgPool) {
    let admin = admin(&pool).await;
    let (id, _, _) = created(
        leads::create_lead(&pool, &admin, lead("Клиент", "+79990000010"))
            .await
            .unwrap(),
    );
    domain::tasks::create_task(
        &pool,
        &admin,
        id,
        "Перезвонить",
        chrono::Utc::now() - chrono::Duration::seconds(1),
        None,
    )
    .await
    .unwrap();
    domain::tasks::create_task(
        &pool,
        &admin,
        id,
        "Позже",
        chrono::Utc::now() + chrono::Duration::hours(1),
        None,
    )
    .await
    .unwrap();
    let (a, b) = tokio::join!(
        domain::tasks::run_due_reminders(&pool),
        domain::tasks::run_due_reminders(&pool)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(domain::tasks::run_due_reminders(&pool).await.unwrap(), 0);
    let notes = domain::notifications::recent(&pool, &admin, 10).await.unwrap();
    assert_eq!(notes.iter().filter(|n| n.title == "Напоминание о задаче").count(), 1);
    let tasks = domain::tasks::my_tasks(&pool, &admin).await.unwrap();
    assert!(tasks[0].overdue);
}

#[sqlx::test(migrations = "../migrations")]
async fn export_streams_the_filtered_view_and_masks_data_for_roles_without_client_rights(pool: PgPool) {
    let admin = admin(&pool).await;
    for (name, phone) in [
        ("Экспортов", "+79011000001"),
        ("Экспортова", "+79011000002"),
        ("Другой", "+79011000003"),
    ] {
        created(leads::create_lead(&pool, &admin, lead(name, phone)).await.unwrap());
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(10);
    let f = LeadFilter {
        query: "экспорт".into(),
        ..Default::default()
    };
    let sent = leads::export_leads(&pool, &admin, f, tx).await.unwrap();
    assert_eq!(sent, 2);
    let mut rows = vec![];
    while let Some(r) = rx.recv().await {
        rows.push(r);
    }
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|r| r.client_name.starts_with("Экспорт") && r.phone.starts_with("+790110")));

    // A role with export but no client rights gets masked personal data.
    domain::rbac::set_permission(
        &pool,
        &admin,
        Role::Employee,
        domain::types::Resource::Clients,
        domain::types::Action::View,
        domain::types::Scope::None,
    )
    .await
    .unwrap();
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    let (tx, mut rx) = tokio::sync::mpsc::channel(10);
    leads::export_leads(&pool, &employee, LeadFilter::default(), tx)
        .await
        .unwrap();
    let r = rx.recv().await.unwrap();
    assert!(r.phone.contains('*'), "{}", r.phone);
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let (tx, _rx) = tokio::sync::mpsc::channel(10);
    assert!(matches!(
        leads::export_leads(&pool, &partner, LeadFilter::default(), tx).await,
        Err(LeadsError::Rbac(RbacError::NotAllowed))
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn demo_data_fills_an_empty_database_with_duplicates_and_refuses_a_full_one(pool: PgPool) {
    let s = domain::demo::fill(&pool, 2000).await.unwrap();
    assert_eq!(s.leads, 2000);
    assert!(s.clients < 2000, "some leads share a client");
    let pipelines: i64 = sqlx::query_scalar("select count(*) from pipelines")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(pipelines >= 2);
    let shared: i64 = sqlx::query_scalar(
        "select count(*) from (select client_id from leads group by client_id having count(*) > 1) x",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(shared > 0);
    // The auction: franchisee companies with money, a few open lots.
    let (companies, funded): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where exists (select 1 from ledger_accounts a
                                   where a.team_id = f.team_id and a.kind = 'franchisee_available' and a.balance_kopecks > 0))
         from franchisees f",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        companies >= 2 && funded == companies,
        "{companies} companies, {funded} with money"
    );
    let open: i64 = sqlx::query_scalar("select count(*) from lots where state = 'open'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(open, 5);
    assert!(matches!(
        domain::demo::fill(&pool, 10).await,
        Err(domain::demo::DemoError::NotEmpty)
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn merging_two_clients_relinks_their_leads_and_phones_and_is_audited(pool: PgPool) {
    let admin = admin(&pool).await;
    let (_, _, a) = created(
        leads::create_lead(&pool, &admin, lead("Иванов Иван", "+79990000001"))
            .await
            .unwrap(),
    );
    let other = NewLead {
        email: "ivan@mail.ru".into(),
        ..lead("Иван Иванов", "+79990000002")
    };
    let (_, n2, b) = created(leads::create_lead(&pool, &admin, other).await.unwrap());
    let dupes = leads::possible_duplicates(&pool, &admin, a).await.unwrap();
    assert!(dupes.is_empty(), "different phones, emails and names");
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let denied = leads::merge_clients(
        &pool,
        &partner,
        leads::MergeInput {
            main: a,
            other: b,
            full_name: "X".into(),
            city: None,
        },
    )
    .await;
    assert!(matches!(denied, Err(LeadsError::Rbac(RbacError::NotAllowed))));
    leads::merge_clients(
        &pool,
        &admin,
        leads::MergeInput {
            main: a,
            other: b,
            full_name: "Иванов Иван Иванович".into(),
            city: Some("Тула".into()),
        },
    )
    .await
    .unwrap();
    let card = leads::get_client(&pool, &admin, a).await.unwrap();
    assert_eq!(card.full_name, "Иванов Иван Иванович");
    assert_eq!(card.phones, ["+79990000001", "+79990000002"]);
    assert_eq!(card.emails, ["ivan@mail.ru"]);
    assert_eq!(card.leads.len(), 2);
    assert_eq!(leads::get_lead(&pool, &admin, n2).await.unwrap().lead.client_id, a);
    assert!(
        leads::get_client(&pool, &admin, b).await.is_ok(),
        "the merged record stays for history"
    );
    let again = leads::merge_clients(
        &pool,
        &admin,
        leads::MergeInput {
            main: a,
            other: b,
            full_name: "X".into(),
            city: None,
        },
    )
    .await;
    assert!(matches!(again, Err(LeadsError::NotFound(leads::Missing::Client))));
    assert_eq!(again.unwrap_err().to_string(), "Клиент не найден");
    // A new lead with the merged phone now finds the main client.
    let CreateOutcome::Duplicates(m) = leads::create_lead(&pool, &admin, lead("Кто-то", "89990000002"))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(m[0].client_id, a);
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where entity = 'client' and action = 'merge'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn clients_with_the_same_name_are_offered_for_merging(pool: PgPool) {
    let admin = admin(&pool).await;
    let (_, _, a) = created(
        leads::create_lead(&pool, &admin, lead("Петров Пётр", "+79990000011"))
            .await
            .unwrap(),
    );
    let (_, _, b) = created(
        leads::create_lead(&pool, &admin, lead("петров пётр", "+79990000012"))
            .await
            .unwrap(),
    );
    let d = leads::possible_duplicates(&pool, &admin, a).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].id, d[0].reason.as_str()), (b, "name"));
}

#[sqlx::test(migrations = "../migrations")]
async fn stages_are_edited_and_deleting_one_moves_its_leads(pool: PgPool) {
    let admin = admin(&pool).await;
    let (id, _, _) = created(
        leads::create_lead(&pool, &admin, lead("Клиент", "+79990000021"))
            .await
            .unwrap(),
    );
    let p = &leads::pipelines(&pool).await.unwrap()[0];
    let first = p.stages[0].id;
    let second = p.stages[1].id;
    let added = leads::add_stage(&pool, &admin, p.id, "Проверка", "#123456")
        .await
        .unwrap();
    let p2 = &leads::pipelines(&pool).await.unwrap()[0];
    let won_pos = p2.stages.iter().position(|s| s.kind == "won").unwrap();
    let new_pos = p2.stages.iter().position(|s| s.id == added).unwrap();
    assert!(new_pos < won_pos, "new stages go before the closing ones");
    leads::rename_stage(&pool, &admin, added, "Проверка документов", "")
        .await
        .unwrap();
    leads::reorder_stage(&pool, &admin, second, -1).await.unwrap();
    let p3 = &leads::pipelines(&pool).await.unwrap()[0];
    assert_eq!(p3.stages[0].id, second);
    assert!(p3
        .stages
        .iter()
        .any(|s| s.name == "Проверка документов" && s.color == "#123456"));
    let moved = leads::delete_stage(&pool, &admin, first, added).await.unwrap();
    assert_eq!(moved, 1);
    let stage: Option<uuid::Uuid> = sqlx::query_scalar("select stage_id from leads where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stage, Some(added));
    let won = p3.stages.iter().find(|s| s.kind == "won").unwrap().id;
    assert!(
        matches!(
            leads::delete_stage(&pool, &admin, won, added).await,
            Err(LeadsError::LastClosingStage(true))
        ),
        "the only won stage stays"
    );
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    assert!(matches!(
        leads::add_pipeline(&pool, &employee, "Моя").await,
        Err(LeadsError::Rbac(RbacError::NotAllowed))
    ));
    let np = leads::add_pipeline(&pool, &admin, "Бизнес-кредиты").await.unwrap();
    let all = leads::pipelines(&pool).await.unwrap();
    let kinds: Vec<_> = all
        .iter()
        .find(|p| p.id == np)
        .unwrap()
        .stages
        .iter()
        .map(|s| s.kind.as_str())
        .collect();
    assert_eq!(kinds, ["open", "won", "lost"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_mention_in_a_comment_notifies_that_colleague(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "olga@mak.test", Role::Employee).await;
    let (id, number, _) = created(
        leads::create_lead(&pool, &admin, lead("Клиент", "+79990000031"))
            .await
            .unwrap(),
    );
    leads::add_comment(&pool, &admin, id, "@olga, перезвони клиенту")
        .await
        .unwrap();
    let notes = domain::notifications::recent(&pool, &employee, 5).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].link.as_deref(), Some(format!("/leads/{number}").as_str()));
    assert!(notes[0].title.contains(&format!("№{number}")));
}

#[sqlx::test(migrations = "../migrations")]
async fn an_unsorted_lead_is_attached_to_an_existing_deal(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let (_, deal, _) = created(
        leads::create_lead(&pool, &admin, lead("Клиент", "+79990000041"))
            .await
            .unwrap(),
    );
    let again = NewLead {
        comment: "Хочет ипотеку побольше".into(),
        ..lead("Клиент снова", "+79990000042")
    };
    let (id, n, _) = created(leads::create_lead(&pool, &partner, again).await.unwrap());
    assert!(
        matches!(
            leads::attach_to_deal(&pool, &partner, id, deal).await,
            Err(LeadsError::Rbac(RbacError::NotAllowed))
        ),
        "the partner may not edit the admin's deal"
    );
    leads::attach_to_deal(&pool, &admin, id, deal).await.unwrap();
    let card = leads::get_lead(&pool, &admin, deal).await.unwrap();
    assert!(card
        .timeline
        .iter()
        .any(|t| t.kind == "comment" && t.text.contains(&format!("№{n}")) && t.text.contains("побольше")));
    let closed = leads::get_lead(&pool, &admin, n).await.unwrap();
    assert!(!closed.lead.unsorted);
    assert_eq!(closed.lead.stage_name.as_deref(), Some("Отказ"));
    assert!(matches!(
        leads::attach_to_deal(&pool, &admin, id, deal).await,
        Err(LeadsError::NotUnsorted)
    ));
    assert!(matches!(
        leads::attach_to_deal(&pool, &admin, id, 999_999).await,
        Err(LeadsError::Validation(_))
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_quick_search_pages_and_counts_like_any_other_list(pool: PgPool) {
    let admin = admin(&pool).await;
    for n in 0..27 {
        leads::create_lead(
            &pool,
            &admin,
            NewLead {
                client_name: format!("Петров {n:02}"),
                phone: format!("+7 916 300 {n:04}"),
                consent: true,
                origin: "test".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    // Someone the search does not find.
    leads::create_lead(
        &pool,
        &admin,
        NewLead {
            client_name: "Сидоров".into(),
            phone: "+7 903 000 0000".into(),
            consent: true,
            origin: "test".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let page = |query: &str, page: i64, sort: &str| LeadFilter {
        query: query.into(),
        page,
        per_page: 10,
        sort: leads::LeadSort::parse(sort),
        ..Default::default()
    };
    for sort in ["created_desc", "client_asc"] {
        let mut seen = vec![];
        for p in 1..=3 {
            let got = leads::list_leads(&pool, &admin, page("916 300", p, sort))
                .await
                .unwrap();
            assert_eq!(got.total, 27, "{sort} page {p}");
            assert_eq!(got.items.len(), if p < 3 { 10 } else { 7 }, "{sort} page {p}");
            seen.extend(got.items.into_iter().map(|l| l.client_name));
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 27, "every hit once across the pages ({sort})");
        if sort == "client_asc" {
            assert_eq!(seen, unique, "in the sort's order");
        }
        // Past the last page: nothing, and the count still says 27.
        let past = leads::list_leads(&pool, &admin, page("916 300", 4, sort))
            .await
            .unwrap();
        assert!(past.items.is_empty() && past.total == 27);
    }
}
