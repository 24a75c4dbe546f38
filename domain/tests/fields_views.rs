//! Dictionaries, extra lead fields (typed, filterable, sortable, indexed),
//! the in-place card edit with readable history, and saved views.

mod common;

use std::collections::BTreeMap;

use common::*;
use domain::leads::{self, CreateOutcome, DictionaryEdit, LeadFilter, LeadUpdate, LeadsError, NewLead, ViewInput};
use domain::rbac::RbacError;
use domain::types::Role;
use domain::PgPool;

fn lead(name: &str, phone: &str, extra: &[(&str, &str)]) -> NewLead {
    NewLead {
        client_name: name.into(),
        phone: phone.into(),
        consent: true,
        origin: "test".into(),
        extra: extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    }
}

async fn create(pool: &PgPool, a: &domain::Actor, l: NewLead) -> uuid::Uuid {
    match leads::create_lead(pool, a, l).await.unwrap() {
        CreateOutcome::Created { id, .. } => id,
        other => panic!("expected a lead, got {other:?}"),
    }
}

fn field_errors(e: LeadsError) -> Vec<(String, String)> {
    match e {
        LeadsError::Validation(f) => f.into_iter().map(|f| (f.field, f.message)).collect(),
        other => panic!("expected validation errors, got {other:?}"),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn extra_fields_are_typed_queryable_sortable_and_indexed(pool: PgPool) {
    let admin = admin(&pool).await;
    let income = leads::add_custom_field(&pool, &admin, "Доход, ₽", "number", &[])
        .await
        .unwrap();
    let birthday = leads::add_custom_field(&pool, &admin, "Дата рождения", "date", &[])
        .await
        .unwrap();
    let region = leads::add_custom_field(&pool, &admin, "Регион", "choice", &["Москва".into(), "Тверь".into()])
        .await
        .unwrap();
    assert!(income.key.starts_with("cf_"));

    let index_ok: bool = sqlx::query_scalar(
        "select i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = $1",
    )
    .bind(format!("leads_{}_idx", income.key))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(index_ok, "each field gets a valid B-tree index");

    let bad = leads::create_lead(
        &pool,
        &admin,
        lead(
            "Плохой",
            "+79990000001",
            &[(&income.key, "много"), (&region.key, "Сочи"), ("cf_999", "x")],
        ),
    )
    .await
    .unwrap_err();
    let errs = field_errors(bad);
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(errs.iter().any(|(f, m)| f == &income.key && m == "Введите число"));
    assert!(errs
        .iter()
        .any(|(f, m)| f == &region.key && m == "Выберите значение из списка"));
    let count: i64 = sqlx::query_scalar("select count(*) from leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "a refused form writes nothing");

    for (i, (inc, bday, reg)) in [
        ("50 000", "01.02.1980", "Москва"),
        ("120000", "1990-05-06", "Тверь"),
        ("9000,5", "", "Москва"),
        ("", "2001-12-31", ""),
    ]
    .into_iter()
    .enumerate()
    {
        let mut extra = vec![];
        if !inc.is_empty() {
            extra.push((income.key.as_str(), inc));
        }
        if !bday.is_empty() {
            extra.push((birthday.key.as_str(), bday));
        }
        if !reg.is_empty() {
            extra.push((region.key.as_str(), reg));
        }
        create(
            &pool,
            &admin,
            lead(&format!("Клиент {i}"), &format!("+7999000100{i}"), &extra),
        )
        .await;
    }

    let names = |p: domain::Page<leads::LeadSummary>| p.items.into_iter().map(|l| l.client_name).collect::<Vec<_>>();
    let q = |s: String| LeadFilter::from_query(&s).unwrap();

    // A numeric range compares numbers, not strings ("9000.5" < "50000").
    let p = leads::list_leads(&pool, &admin, q(format!("{k}_from=10000&sort={k}_asc", k = income.key)))
        .await
        .unwrap();
    assert_eq!(names(p), ["Клиент 0", "Клиент 1"]);
    let p = leads::list_leads(&pool, &admin, q(format!("sort={}_desc", income.key)))
        .await
        .unwrap();
    assert_eq!(
        names(p),
        ["Клиент 1", "Клиент 0", "Клиент 2", "Клиент 3"],
        "empty values last"
    );
    // Date ranges, typed either way.
    let p = leads::list_leads(
        &pool,
        &admin,
        q(format!("{k}_from=01.01.1985&{k}_to=2000-01-01", k = birthday.key)),
    )
    .await
    .unwrap();
    assert_eq!(names(p), ["Клиент 1"]);
    // Choice equality.
    let p = leads::list_leads(&pool, &admin, q(format!("{}=Москва&sort=number_asc", region.key)))
        .await
        .unwrap();
    assert_eq!(names(p), ["Клиент 0", "Клиент 2"]);
    // A bad range value is named, not a 500.
    let errs = field_errors(
        leads::list_leads(&pool, &admin, q(format!("{}_from=вчера", birthday.key)))
            .await
            .unwrap_err(),
    );
    assert_eq!(errs[0].0, format!("{}_from", birthday.key));

    // The planner can use the field's index for a range.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("set enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(&format!(
        "explain select id from leads where extra -> '{}' >= '100000'::jsonb",
        income.key
    ))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(
        plan.join("\n").contains(&format!("leads_{}_idx", income.key)),
        "index not usable: {plan:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_card_edits_every_field_in_place_and_the_history_reads_as_names(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "manager@mak.test", Role::Employee).await;
    let partner = user_with_role(&pool, &admin, "partner@mak.test", Role::Partner).await;
    let field = leads::add_custom_field(&pool, &admin, "Стаж, лет", "number", &[])
        .await
        .unwrap();
    let id = create(&pool, &admin, lead("Петров Пётр", "+79991112233", &[])).await;
    let d = leads::dictionaries(&pool).await.unwrap();
    let status = d.statuses.iter().find(|s| s.name == "В работе").unwrap().id;
    let method = d.methods[0].id;
    leads::update_lead(
        &pool,
        &admin,
        id,
        LeadUpdate {
            status_id: Some(Some(status)),
            method_id: Some(Some(method)),
            responsible_id: Some(Some(employee.user_id)),
            amount: Some("1500000".into()),
            tags: Some(vec![" VIP ".into(), "#Срочно".into(), "vip".into()]),
            extra: Some(BTreeMap::from([(field.key.clone(), "7".into())])),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let number: i64 = sqlx::query_scalar("select number from leads where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    let card = leads::get_lead(&pool, &admin, number).await.unwrap();
    assert_eq!(card.status_id, Some(status));
    assert_eq!(card.responsible_id, Some(employee.user_id));
    assert_eq!(card.lead.tags, ["vip", "срочно"]);
    assert_eq!(card.lead.extra[&field.key], serde_json::json!(7.0));
    let history = card
        .timeline
        .iter()
        .find(|t| t.kind == "update")
        .expect("an update in the history");
    assert!(history.text.contains("Статус: Новый → В работе"), "{}", history.text);
    assert!(history.text.contains("Стаж, лет: — → 7"), "{}", history.text);
    assert!(history.text.contains("Теги: — → vip, срочно"), "{}", history.text);
    assert!(
        history
            .text
            .contains(&format!("Ответственный: {} → {}", admin.full_name, employee.full_name)),
        "{}",
        history.text
    );

    // A partner can't be made responsible.
    let errs = field_errors(
        leads::update_lead(
            &pool,
            &admin,
            id,
            LeadUpdate {
                responsible_id: Some(Some(partner.user_id)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(errs[0].0, "responsible_id");

    // Tag filter.
    let p = leads::list_leads(&pool, &admin, LeadFilter::from_query("tag=VIP").unwrap())
        .await
        .unwrap();
    assert_eq!(p.items.len(), 1);
    let p = leads::list_leads(&pool, &admin, LeadFilter::from_query("tag=нет").unwrap())
        .await
        .unwrap();
    assert!(p.items.is_empty());

    // A task shows in the timeline.
    domain::tasks::create_task(
        &pool,
        &admin,
        id,
        "Перезвонить",
        chrono::Utc::now() + chrono::Duration::hours(1),
        None,
    )
    .await
    .unwrap();
    let card = leads::get_lead(&pool, &admin, number).await.unwrap();
    assert!(card
        .timeline
        .iter()
        .any(|t| t.kind == "task" && t.text.starts_with("Перезвонить")));
}

#[sqlx::test(migrations = "../migrations")]
async fn dictionaries_are_edited_by_admins_and_hidden_items_leave_forms(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    let id = leads::add_dictionary_item(&pool, &admin, "product", "Лизинг")
        .await
        .unwrap();
    assert!(leads::dictionaries(&pool)
        .await
        .unwrap()
        .products
        .iter()
        .any(|p| p.name == "Лизинг"));
    let dup = leads::add_dictionary_item(&pool, &admin, "product", "Лизинг")
        .await
        .unwrap_err();
    assert_eq!(field_errors(dup)[0].1, "Такое значение уже есть");
    let denied = leads::add_dictionary_item(&pool, &employee, "product", "Другое")
        .await
        .unwrap_err();
    assert!(matches!(denied, LeadsError::Rbac(RbacError::NotAllowed)), "{denied:?}");

    leads::edit_dictionary_item(
        &pool,
        &admin,
        id,
        DictionaryEdit {
            name: Some("Лизинг авто".into()),
            shift: Some(-1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let products = leads::dictionaries(&pool).await.unwrap().products;
    let names: Vec<_> = products.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names[names.len() - 2], "Лизинг авто", "moved up one place: {names:?}");
    leads::edit_dictionary_item(
        &pool,
        &admin,
        id,
        DictionaryEdit {
            active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!leads::dictionaries(&pool)
        .await
        .unwrap()
        .products
        .iter()
        .any(|p| p.id == id));
    let audit: i64 = sqlx::query_scalar("select count(*) from audit_log where entity = 'dictionary_item'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(audit, 3);

    // The last status can't be hidden.
    let statuses = leads::dictionaries(&pool).await.unwrap().statuses;
    for s in &statuses[..statuses.len() - 1] {
        leads::edit_dictionary_item(
            &pool,
            &admin,
            s.id,
            DictionaryEdit {
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let last = statuses.last().unwrap().id;
    let e = leads::edit_dictionary_item(
        &pool,
        &admin,
        last,
        DictionaryEdit {
            active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, LeadsError::LastStatus));
}

#[sqlx::test(migrations = "../migrations")]
async fn saved_views_are_private_or_shared_and_shared_ones_need_the_right(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    let other = user_with_role(&pool, &admin, "o@mak.test", Role::Employee).await;
    let mine = leads::save_view(
        &pool,
        &employee,
        ViewInput {
            name: "Крупные".into(),
            query: "amount_from=1000000&sort=amount_desc".into(),
            columns: vec!["number".into(), "client".into(), "amount".into()],
            shared: false,
        },
    )
    .await
    .unwrap();
    let e = leads::save_view(
        &pool,
        &employee,
        ViewInput {
            name: "Для всех".into(),
            query: String::new(),
            columns: vec!["number".into()],
            shared: true,
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, LeadsError::Rbac(RbacError::NotAllowed)),
        "employees can't share by default"
    );
    let bad = leads::save_view(
        &pool,
        &employee,
        ViewInput {
            name: "Плохой".into(),
            query: "created_from=завтра".into(),
            columns: vec!["number".into()],
            shared: false,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(field_errors(bad)[0].0, "created_from");
    leads::save_view(
        &pool,
        &admin,
        ViewInput {
            name: "Неразобранное".into(),
            query: "unsorted=1".into(),
            columns: vec!["number".into(), "created".into()],
            shared: true,
        },
    )
    .await
    .unwrap();

    let seen: Vec<_> = leads::list_views(&pool, &employee)
        .await
        .unwrap()
        .into_iter()
        .map(|v| (v.name, v.mine))
        .collect();
    assert_eq!(
        seen,
        [("Крупные".to_string(), true), ("Неразобранное".to_string(), false)]
    );
    let seen_by_other: Vec<_> = leads::list_views(&pool, &other)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(seen_by_other, ["Неразобранное"], "private views stay private");
    assert!(matches!(
        leads::delete_view(&pool, &other, mine).await.unwrap_err(),
        LeadsError::NotFound(leads::Missing::View)
    ));
    leads::delete_view(&pool, &employee, mine).await.unwrap();
    assert_eq!(leads::list_views(&pool, &employee).await.unwrap().len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_franchisee_lists_only_its_own_clients(pool: PgPool) {
    let admin = admin(&pool).await;
    let franchisee = user_with_role(&pool, &admin, "f@mak.test", Role::Franchisee).await;
    let partner = user_with_role(&pool, &admin, "p@mak.test", Role::Partner).await;
    create(&pool, &admin, lead("Клиент Центра", "+79990002001", &[])).await;
    create(&pool, &franchisee, lead("Клиент Филиала", "+79990002002", &[])).await;
    create(&pool, &partner, lead("Клиент Партнёра", "+79990002003", &[])).await;
    let names = |p: domain::Page<leads::ClientRow>| p.items.into_iter().map(|c| c.full_name).collect::<Vec<_>>();
    assert_eq!(
        names(leads::list_clients(&pool, &franchisee, "", 1).await.unwrap()),
        ["Клиент Филиала"]
    );
    assert_eq!(
        names(leads::list_clients(&pool, &partner, "", 1).await.unwrap()),
        ["Клиент Партнёра"]
    );
    assert_eq!(leads::list_clients(&pool, &admin, "", 1).await.unwrap().total, 3);
    assert_eq!(
        names(leads::list_clients(&pool, &admin, "999 000 20 02", 1).await.unwrap()),
        ["Клиент Филиала"]
    );
    assert_eq!(
        names(leads::list_clients(&pool, &admin, "центра", 1).await.unwrap()),
        ["Клиент Центра"]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_list_sorts_by_looked_up_names_too(pool: PgPool) {
    let admin = admin(&pool).await;
    let a = create(&pool, &admin, lead("Анна", "+79990003003", &[])).await;
    let b = create(&pool, &admin, lead("Борис", "+79990003001", &[])).await;
    let c = create(&pool, &admin, lead("Вера", "+79990003002", &[])).await;
    let d = leads::dictionaries(&pool).await.unwrap();
    let status = |n: &str| d.statuses.iter().find(|s| s.name == n).unwrap().id;
    for (id, s) in [(a, Some(status("В работе"))), (b, Some(status("Аукцион"))), (c, None)] {
        leads::update_lead(
            &pool,
            &admin,
            id,
            LeadUpdate {
                status_id: Some(s),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let names = |p: domain::Page<leads::LeadSummary>| p.items.into_iter().map(|l| l.client_name).collect::<Vec<_>>();
    let q = |s: &str| LeadFilter::from_query(s).unwrap();
    assert_eq!(
        names(leads::list_leads(&pool, &admin, q("sort=status_asc")).await.unwrap()),
        ["Борис", "Анна", "Вера"],
        "Аукцион, В работе, then no status"
    );
    assert_eq!(
        names(leads::list_leads(&pool, &admin, q("sort=phone_desc")).await.unwrap()),
        ["Анна", "Вера", "Борис"]
    );
}
