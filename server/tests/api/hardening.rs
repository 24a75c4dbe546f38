//! Request-level protections: body limits, the same-origin rule for
//! cookie-authenticated writes, security headers, spreadsheet injection.

use crate::helpers::*;
use domain::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn an_oversized_body_is_refused_before_it_is_read(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    admin(&pool).await;
    let token = token_for(&pool, "admin@mak.test").await;
    let big = format!("{{\"email\": \"{}\"}}", "a".repeat(2 << 20));
    let r = app
        .client
        .post(app.url("/api/v1/invitations"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["code"], "too_large");

    // Without a declared length the body stops at the limit all the same.
    let chunks = futures::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024])));
    let r = app
        .client
        .post(app.url("/api/v1/invitations"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_write_from_another_origin_is_refused(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    admin(&pool).await;
    for (name, value) in [
        ("origin", "http://evil.example"),
        ("origin", "http://127.0.0.1:1"),
        ("sec-fetch-site", "same-site"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let r = app
            .client
            .post(app.url("/api/v1/invitations"))
            .header(name, value)
            .json(&serde_json::json!({ "email": "x@example.ru", "role": "employee" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{name}: {value}");
        assert_eq!(r.json::<serde_json::Value>().await.unwrap()["code"], "cross_origin");
    }
    // The same request from our own pages gets as far as authentication.
    let r = app
        .client
        .post(app.url("/api/v1/invitations"))
        .header("origin", app.base.clone())
        .header("sec-fetch-site", "same-origin")
        .json(&serde_json::json!({ "email": "x@example.ru", "role": "employee" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[sqlx::test(migrations = "../migrations")]
async fn pages_carry_a_nonce_policy_and_the_other_security_headers(pool: PgPool) {
    let app = spawn_app(pool).await;
    let r = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h.contains_key("referrer-policy"));
    let csp = h["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
    assert!(!script_src.contains("unsafe-inline"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("a nonce in script-src")
        .to_string();
    let html = r.text().await.unwrap();
    let executable_scripts = html
        .split("<script")
        .skip(1)
        .filter(|s| !s.starts_with(" type=\"application/json\""))
        .count();
    let with_nonce = html.matches(&format!("nonce=\"{nonce}\"")).count();
    assert!(executable_scripts > 0);
    assert!(
        with_nonce >= executable_scripts,
        "{executable_scripts} scripts, {with_nonce} with the nonce: {html}"
    );

    let api = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert!(api.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
}

#[sqlx::test(migrations = "../migrations")]
async fn exported_text_can_not_become_a_spreadsheet_formula(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = admin(&pool).await;
    let p = user_with_role(&pool, &admin, "p@example.ru", domain::types::Role::Partner).await;
    sqlx::query("update users set full_name = '=HYPERLINK(\"http://evil\",\"x\")' where id = $1")
        .bind(p.user_id)
        .execute(&pool)
        .await
        .unwrap();
    let token = token_for(&pool, "admin@mak.test").await;
    let body = app
        .client
        .get(app.url("/api/v1/users/export.csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("\"'=HYPERLINK("), "{body}");
    assert!(!body.contains(";\"=HYPERLINK"), "{body}");
}

#[sqlx::test(migrations = "../migrations")]
async fn generated_files_download_under_their_names(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    admin(&pool).await;
    let token = token_for(&pool, "admin@mak.test").await;
    let get = |path: &str| app.client.get(app.url(path)).bearer_auth(&token).send();
    let users = get("/api/v1/users/export.csv").await.unwrap();
    assert_eq!(users.status(), 200);
    assert_eq!(users.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        users.headers()["content-disposition"],
        "attachment; filename=\"users.csv\"; filename*=UTF-8''users.csv"
    );
    // A report keeps its Cyrillic title; old clients get an ASCII name.
    let report = get("/api/v1/reports/export.xlsx?title=%D0%92%D0%BE%D1%80%D0%BE%D0%BD%D0%BA%D0%B0&definition=%7B%22rows%22%3A%5B%22source%22%5D%7D")
        .await
        .unwrap();
    assert_eq!(report.status(), 200);
    assert_eq!(
        report.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        report.headers()["content-disposition"],
        "attachment; filename=\"_______.xlsx\"; filename*=UTF-8''%D0%92%D0%BE%D1%80%D0%BE%D0%BD%D0%BA%D0%B0.xlsx"
    );
    assert!(report.bytes().await.unwrap().starts_with(b"PK"));
}

#[sqlx::test(migrations = "../migrations")]
async fn without_the_database_requests_get_a_503_in_russian(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    admin(&pool).await;
    let token = token_for(&pool, "admin@mak.test").await;
    pool.close().await;
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], "unavailable");
    assert_eq!(v["message"], "База данных недоступна. Повторите попытку через минуту");
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
}
