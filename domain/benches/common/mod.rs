//! Shared by the bench binaries: the first admin as an `Actor`.

use domain::{Actor, PgPool};

pub async fn first_admin(pool: &PgPool) -> Actor {
    let admin: uuid::Uuid = sqlx::query_scalar("select id from users where role = 'admin' order by created_at limit 1")
        .fetch_one(pool)
        .await
        .unwrap();
    let epoch: i32 = sqlx::query_scalar("select session_epoch from users where id = $1")
        .bind(admin)
        .fetch_one(pool)
        .await
        .unwrap();
    domain::accounts::load_actor(pool, admin, epoch, None)
        .await
        .unwrap()
        .unwrap()
}
