mod common;

use std::time::Duration;

use common::*;
use domain::audit::{self, AuditFilter};
use domain::rbac::{self, Operation, RbacError, Target};
use domain::rbac::{InboxOp, SettingsOp};
use domain::realtime::{self, Event, Hub};
use domain::types::{Action, Resource, Role, Scope};
use domain::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn every_guarded_operation_has_a_matrix_entry_for_every_role(pool: PgPool) {
    for role in Role::all() {
        for op in Operation::all() {
            let (resource, action) = op.permission();
            let r = rbac::scope_for(&pool, role, resource, action).await;
            assert!(r.is_ok(), "{op:?} has no matrix entry for {role}: {r:?}");
        }
        for resource in Resource::all() {
            for &action in resource.actions() {
                rbac::scope_for(&pool, role, resource, action)
                    .await
                    .unwrap_or_else(|e| panic!("{role}/{resource}/{action}: {e}"));
            }
        }
    }
    // Every operation asks for a declared cell, and the matrix holds the
    // declared cells and nothing else.
    for op in Operation::all() {
        let (resource, action) = op.permission();
        assert!(
            resource.actions().contains(&action),
            "{op:?} asks for {resource}/{action}"
        );
    }
    let declared: usize = Resource::all().iter().map(|r| r.actions().len()).sum();
    let rows: i64 = sqlx::query_scalar("select count(*) from permissions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows as usize, declared * Role::all().len());
    // An undeclared cell can't be set either.
    let admin = admin(&pool).await;
    let r = rbac::set_permission(&pool, &admin, Role::Employee, Resource::Audit, Action::Edit, Scope::All).await;
    assert!(matches!(r, Err(RbacError::Invalid(_))), "{r:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn approving_and_answering_are_rights_of_their_own(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    // An employee given users:edit still may not approve registrations…
    rbac::set_permission(&pool, &admin, Role::Employee, Resource::Users, Action::Edit, Scope::All)
        .await
        .unwrap();
    let guest = user_with_role(&pool, &admin, "g@mak.test", Role::Guest).await;
    let r = domain::accounts::approve_registration(&pool, &employee, guest.user_id, Role::Partner).await;
    assert!(r.is_err(), "approved with users:edit only");
    // …until given users:approve.
    rbac::set_permission(
        &pool,
        &admin,
        Role::Employee,
        Resource::Users,
        Action::Approve,
        Scope::All,
    )
    .await
    .unwrap();
    domain::accounts::approve_registration(&pool, &employee, guest.user_id, Role::Partner)
        .await
        .unwrap();
    assert_eq!(
        Operation::Inbox(InboxOp::Reply).permission(),
        (Resource::Inbox, Action::Send)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_missing_matrix_entry_denies_instead_of_allowing(pool: PgPool) {
    let admin = admin(&pool).await;
    sqlx::query("delete from permissions where role = 'admin' and resource = 'audit' and action = 'view'")
        .execute(&pool)
        .await
        .unwrap();
    let r = rbac::authorize(
        &pool,
        &admin,
        Operation::Settings(SettingsOp::ViewAudit),
        Target::Collection,
    )
    .await;
    assert!(matches!(r, Err(RbacError::MissingEntry(_))));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_matrix_change_takes_effect_at_once_and_is_audited(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    assert!(audit::list(&pool, &employee, AuditFilter::default()).await.is_err());
    rbac::set_permission(&pool, &admin, Role::Employee, Resource::Audit, Action::View, Scope::All)
        .await
        .unwrap();
    let page = audit::list(
        &pool,
        &employee,
        AuditFilter {
            per_page: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let latest = &page.items[0];
    assert_eq!(
        (latest.entity.as_str(), latest.action.as_str()),
        ("permission", "update")
    );
    assert_eq!(latest.entity_id, "employee/audit/view");
    assert_eq!(latest.diff, serde_json::json!({"scope": {"from": "none", "to": "all"}}));
    assert_eq!(latest.ip.as_deref(), Some("10.0.0.1"));
    assert_eq!(latest.actor_email.as_deref(), Some("admin@mak.test"));
}

#[sqlx::test(migrations = "../migrations")]
async fn nobody_can_take_the_settings_right_away_from_admins(pool: PgPool) {
    let admin = admin(&pool).await;
    let r = rbac::set_permission(
        &pool,
        &admin,
        Role::Admin,
        Resource::Settings,
        Action::Edit,
        Scope::None,
    )
    .await;
    assert!(matches!(r, Err(RbacError::Invalid(_))));
}

#[sqlx::test(migrations = "../migrations")]
async fn scopes_limit_what_a_user_list_returns(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    user_with_role(&pool, &admin, "p2@example.ru", Role::Partner).await;
    let all = domain::accounts::list_users(&pool, &admin, Default::default())
        .await
        .unwrap();
    assert_eq!(all.total, 3);
    let own = domain::accounts::list_users(&pool, &partner, Default::default())
        .await
        .unwrap();
    assert_eq!(own.total, 1);
    assert_eq!(own.items[0].id, partner.user_id);
    let phone = domain::accounts::list_users(
        &pool,
        &admin,
        domain::accounts::UserFilter {
            query: "999 123".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(phone.total, 2, "search by phone digits");
}

#[sqlx::test(migrations = "../migrations")]
async fn audit_filters_by_actor_entity_action_and_period(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    domain::accounts::block_user(&pool, &admin, partner.user_id)
        .await
        .unwrap();
    let f = |entity: &str, action: &str| AuditFilter {
        entity: Some(entity.into()),
        action: Some(action.into()),
        per_page: 50,
        ..Default::default()
    };
    let blocks = audit::list(&pool, &admin, f("user", "block")).await.unwrap();
    assert_eq!(blocks.total, 1);
    assert_eq!(
        blocks.items[0].diff["blocked"],
        serde_json::json!({"from": false, "to": true})
    );
    let by_partner = audit::list(
        &pool,
        &admin,
        AuditFilter {
            actor_id: Some(partner.user_id),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(by_partner.total, 1, "the registration itself");
    let future = audit::list(
        &pool,
        &admin,
        AuditFilter {
            from: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(future.total, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn events_reach_every_instance_only_after_commit(pool: PgPool) {
    // Two hubs on two pools stand for two server processes.
    let other_pool = sqlx::postgres::PgPoolOptions::new()
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let hub_a = Hub::start(pool.clone());
    let hub_b = Hub::start(other_pool);
    let mut rx_a = hub_a.subscribe();
    let mut rx_b = hub_b.subscribe();
    tokio::time::sleep(Duration::from_millis(500)).await; // listeners connect

    let mut tx = pool.begin().await.unwrap();
    realtime::publish(&mut tx, &Event::PermissionsChanged).await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), rx_b.recv())
            .await
            .is_err(),
        "nothing is delivered before commit"
    );
    tx.commit().await.unwrap();
    for rx in [&mut rx_a, &mut rx_b] {
        let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ev, Event::PermissionsChanged);
    }

    let mut tx = pool.begin().await.unwrap();
    realtime::publish(&mut tx, &Event::PermissionsChanged).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(300), rx_b.recv())
        .await
        .is_err());
}

#[sqlx::test(migrations = "../migrations")]
async fn events_are_shown_only_to_viewers_who_may_see_them(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let other = user_with_role(&pool, &admin, "p2@example.ru", Role::Partner).await;
    let ev = Event::UserChanged {
        user_id: other.user_id,
        team_id: None,
        change: "block".into(),
    };
    assert!(realtime::visible_to(&pool, &admin, &ev).await);
    assert!(!realtime::visible_to(&pool, &partner, &ev).await);
    assert!(realtime::visible_to(&pool, &other, &ev).await);
    let note = Event::Notification { user_id: admin.user_id };
    assert!(realtime::visible_to(&pool, &admin, &note).await);
    assert!(!realtime::visible_to(&pool, &partner, &note).await);
}
