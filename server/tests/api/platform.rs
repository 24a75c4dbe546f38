use crate::helpers::*;
use domain::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn health_readiness_and_metrics_respond(pool: PgPool) {
    let app = spawn_app(pool).await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/v1/me\""), "{text}");
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("db_pool_connections"), "{text}");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_api_answers_bad_input_with_json_codes_never_500(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    admin(&pool).await;
    let r = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], "unauthenticated");
    assert_eq!(v["message"], "Войдите в систему");

    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth("mak_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["code"], "invalid_token");

    let token = token_for(&pool, "admin@mak.test").await;
    let r = app
        .client
        .post(app.url("/api/v1/invitations"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["code"], "validation");

    let r = app
        .client
        .post(app.url("/api/v1/invitations"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "email": "not-an-email", "role": "employee" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["fields"][0]["field"], "email");
    assert_eq!(v["fields"][0]["message"], "Некорректный email");

    let r = app
        .client
        .get(app.url("/api/v1/users/not-a-uuid"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = app
        .client
        .get(app.url("/api/v1/users/00000000-0000-0000-0000-000000000000"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .client
        .get(app.url("/api/v1/nothing"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["code"], "not_found");
}

#[sqlx::test(migrations = "../migrations")]
async fn pages_render_in_russian_by_default_and_in_english_on_request(pool: PgPool) {
    let app = spawn_app(pool).await;
    let ru = app
        .client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ru.contains("Вход в MaK CRM"));
    let en = app
        .client
        .get(app.url("/login"))
        .header("cookie", "lang=en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("Sign in to MaK CRM"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_csv_export_of_users_opens_in_excel_and_respects_the_matrix(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = admin(&pool).await;
    user_with_role(&pool, &admin, "p@example.ru", domain::types::Role::Partner).await;
    let token = token_for(&pool, "admin@mak.test").await;
    let r = app
        .client
        .get(app.url("/api/v1/users/export.csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.starts_with('\u{feff}'), "UTF-8 BOM for Excel");
    assert_eq!(body.lines().count(), 3);
    let partner_token = token_for(&pool, "p@example.ru").await;
    let r = app
        .client
        .get(app.url("/api/v1/users/export.csv"))
        .bearer_auth(&partner_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
