mod common;

use common::*;
use domain::company;
use domain::rbac::RbacError;
use domain::types::Role;
use domain::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn the_company_time_zone_is_moscow_until_an_admin_picks_another(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    assert_eq!(company::time_zone(&pool).await.unwrap().name(), "Europe/Moscow");

    let r = company::set_time_zone(&pool, &employee, "Asia/Vladivostok").await;
    assert!(matches!(r, Err(RbacError::NotAllowed)), "{r:?}");
    for bad in ["Mars/Base", "America/New_York", ""] {
        let r = company::set_time_zone(&pool, &admin, bad).await;
        assert!(matches!(r, Err(RbacError::Invalid(_))), "{bad}: {r:?}");
    }
    assert_eq!(company::time_zone(&pool).await.unwrap().name(), "Europe/Moscow");

    // (The process's clock is not switched here: tests share it. The
    // browser test switches a server's zone and reads the times it shows.)
    company::set_time_zone(&pool, &admin, "Asia/Vladivostok").await.unwrap();
    assert_eq!(company::time_zone(&pool).await.unwrap().name(), "Asia/Vladivostok");
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where entity = 'app_setting' and entity_id = 'time_zone'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}
