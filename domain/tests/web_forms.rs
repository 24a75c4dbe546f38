//! Website forms against real PostgreSQL: a post becomes an unsorted lead
//! with the form's source, UTM tags and the consent version; a known
//! client's post joins their card; a refused post is kept with its reasons
//! and writes no lead; the honeypot catches bots; one address gets its
//! hourly allowance and no more, even in a burst; a form lists its sites;
//! only settings:edit manages forms.

mod common;

use std::collections::BTreeMap;

use common::*;
use domain::integrations::{self, FormInput, FormSubmission, IntegrationError};
use domain::types::Role;
use domain::PgPool;
use uuid::Uuid;

fn form_input(name: &str) -> FormInput {
    FormInput {
        name: name.into(),
        consent_text: "Согласен на обработку персональных данных".into(),
        per_ip_hourly: 20,
        enabled: true,
        ..Default::default()
    }
}

fn post(fields: &[(&str, &str)], ip: &str) -> FormSubmission {
    FormSubmission {
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        ip: Some(ip.parse().unwrap()),
        origin: None,
        referer: Some("https://site.example/ipoteka".into()),
    }
}

async fn key_of(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar("select key from web_forms where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_post_becomes_an_unsorted_lead_with_the_forms_source_and_utm(pool: PgPool) {
    let admin = admin(&pool).await;
    let source: Uuid =
        sqlx::query_scalar("select id from dictionary_items where kind = 'source' and name = 'Лидогенерация'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let mut input = form_input("Ипотека — главная");
    input.source_id = Some(source);
    let id = integrations::save_form(&pool, &admin, None, input).await.unwrap();
    let key = key_of(&pool, id).await;

    let done = integrations::submit_form(
        &pool,
        &key,
        post(
            &[
                ("name", "Ольга Сайтова"),
                ("phone", "8 (916) 555-12-34"),
                ("consent", "yes"),
                ("utm_source", "yandex"),
                ("utm_campaign", "ipoteka-nov"),
                ("website", ""),
            ],
            "203.0.113.5",
        ),
    )
    .await
    .unwrap();
    assert!(!done.spam);
    let row: (bool, Option<Uuid>, Vec<String>, String, Option<String>) = sqlx::query_as(
        "select l.unsorted, l.source_id, l.tags, l.comment, c.consent_text_version
         from leads l join clients c on c.id = l.client_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(row.0, "a website's lead waits in the unsorted inbox");
    assert_eq!(row.1, Some(source));
    assert_eq!(row.2, ["source:yandex", "campaign:ipoteka-nov"]);
    assert!(row.3.contains("https://site.example/ipoteka"), "{}", row.3);
    assert_eq!(row.4.as_deref(), Some(format!("form:{key}:v1").as_str()));
    let phone: String = sqlx::query_scalar("select phone from client_phones")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(phone, "+79165551234");
    assert_eq!(
        count(
            &pool,
            "select count(*) from web_form_submissions where outcome = 'created' and lead_id is not null"
        )
        .await,
        1
    );

    // The same person again: a second lead on the same client card.
    integrations::submit_form(
        &pool,
        &key,
        post(
            &[("name", "Ольга"), ("phone", "+7 916 555 12 34"), ("consent", "on")],
            "203.0.113.6",
        ),
    )
    .await
    .unwrap();
    assert_eq!(count(&pool, "select count(*) from clients").await, 1);
    assert_eq!(count(&pool, "select count(*) from leads").await, 2);
    assert_eq!(
        count(
            &pool,
            "select count(*) from web_form_submissions where outcome = 'attached'"
        )
        .await,
        1
    );

    let listed = integrations::list_forms(&pool, &admin).await.unwrap();
    assert_eq!(listed[0].leads_30d, 2);
    assert_eq!(listed[0].source.as_deref(), Some("Лидогенерация"));
}

#[sqlx::test(migrations = "../migrations")]
async fn refusals_spam_and_the_hourly_allowance(pool: PgPool) {
    let admin = admin(&pool).await;
    let mut input = form_input("Автокредит");
    input.per_ip_hourly = 3;
    let id = integrations::save_form(&pool, &admin, None, input).await.unwrap();
    let key = key_of(&pool, id).await;

    // No consent, no phone: refused with both reasons, kept, no lead.
    let err = integrations::submit_form(&pool, &key, post(&[("name", "Без согласия")], "198.51.100.1"))
        .await
        .unwrap_err();
    let IntegrationError::Validation(fields) = err else {
        panic!("expected a validation error, got {err:?}")
    };
    let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert!(names.contains(&"phone") && names.contains(&"consent"), "{names:?}");
    assert_eq!(count(&pool, "select count(*) from leads").await, 0);
    assert_eq!(count(&pool, "select count(*) from clients").await, 0);
    let errors: serde_json::Value =
        sqlx::query_scalar("select errors from web_form_submissions where outcome = 'refused'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(errors.get("consent").is_some(), "{errors}");

    // A bot fills the hidden field: answered as a success, nothing created.
    let done = integrations::submit_form(
        &pool,
        &key,
        post(
            &[
                ("name", "Бот"),
                ("phone", "+79160000001"),
                ("consent", "yes"),
                ("website", "http://spam"),
            ],
            "198.51.100.1",
        ),
    )
    .await
    .unwrap();
    assert!(done.spam);
    assert_eq!(count(&pool, "select count(*) from leads").await, 0);

    // The address has used 2 of its 3; a burst of five gets exactly one more
    // (the others are told to wait: their turn, or the allowance).
    let mut tasks = vec![];
    for i in 0..5 {
        let (pool, key) = (pool.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let phone = format!("+7916000001{i}");
            integrations::submit_form(
                &pool,
                &key,
                post(
                    &[("name", "Очередь"), ("phone", &phone), ("consent", "yes")],
                    "198.51.100.1",
                ),
            )
            .await
        }));
    }
    let mut accepted = 0;
    let mut throttled = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(IntegrationError::Throttled { retry_after }) => {
                assert!((1..=3600).contains(&retry_after));
                throttled += 1;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((accepted, throttled), (1, 4));
    assert_eq!(count(&pool, "select count(*) from leads").await, 1);
    // Another address is not affected.
    integrations::submit_form(
        &pool,
        &key,
        post(
            &[("name", "Сосед"), ("phone", "+79160000099"), ("consent", "yes")],
            "198.51.100.2",
        ),
    )
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn sites_versions_switching_off_and_who_manages(pool: PgPool) {
    let admin = admin(&pool).await;
    let mut input = form_input("Партнёрский сайт");
    input.allowed_origins = vec!["https://partner.example/".into()];
    let id = integrations::save_form(&pool, &admin, None, input.clone())
        .await
        .unwrap();
    let key = key_of(&pool, id).await;
    assert_eq!(
        integrations::form_origins(&pool, &key).await.unwrap(),
        Some(vec!["https://partner.example".to_string()])
    );

    let mut from = post(
        &[("name", "Чужой"), ("phone", "+79160000002"), ("consent", "yes")],
        "192.0.2.1",
    );
    from.origin = Some("https://evil.example".into());
    assert!(matches!(
        integrations::submit_form(&pool, &key, from.clone()).await,
        Err(IntegrationError::Origin)
    ));
    from.origin = Some("https://partner.example".into());
    integrations::submit_form(&pool, &key, from).await.unwrap();

    // A new consent text is a new version; the old one stays readable.
    input.consent_text = "Новый текст согласия".into();
    integrations::save_form(&pool, &admin, Some(id), input.clone())
        .await
        .unwrap();
    let versions: Vec<(i32, String)> =
        sqlx::query_as("select version, text from web_form_consents where form_id = $1 order by version")
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1], (2, "Новый текст согласия".to_string()));
    // Saving without a change keeps the version.
    integrations::save_form(&pool, &admin, Some(id), input.clone())
        .await
        .unwrap();
    assert_eq!(
        integrations::list_forms(&pool, &admin).await.unwrap()[0].consent_version,
        2
    );

    // Switched off, the address answers «not found».
    input.enabled = false;
    integrations::save_form(&pool, &admin, Some(id), input).await.unwrap();
    assert!(matches!(
        integrations::submit_form(&pool, &key, post(&[("name", "Поздно")], "192.0.2.1")).await,
        Err(IntegrationError::NotFound)
    ));
    assert_eq!(integrations::form_origins(&pool, &key).await.unwrap(), None);

    // Bad settings are named; an employee manages nothing.
    let Err(IntegrationError::Validation(f)) = integrations::save_form(
        &pool,
        &admin,
        None,
        FormInput {
            allowed_origins: vec!["partner.example/form".into()],
            ..form_input("")
        },
    )
    .await
    else {
        panic!("refused")
    };
    assert_eq!(f.len(), 2, "{f:?}");
    let employee = user_with_role(&pool, &admin, "forms-emp@example.com", Role::Employee).await;
    assert!(matches!(
        integrations::list_forms(&pool, &employee).await,
        Err(IntegrationError::Rbac(_))
    ));
    assert!(matches!(
        integrations::delete_form(&pool, &employee, id).await,
        Err(IntegrationError::Rbac(_))
    ));
    integrations::delete_form(&pool, &admin, id).await.unwrap();
    assert_eq!(count(&pool, "select count(*) from leads").await, 1, "the leads stay");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_snippet_posts_every_field_the_endpoint_reads(pool: PgPool) {
    let admin = admin(&pool).await;
    let mut input = form_input("Сниппет");
    input.consent_text = "Согласен <с условиями>".into();
    integrations::save_form(&pool, &admin, None, input).await.unwrap();
    let form = integrations::list_forms(&pool, &admin).await.unwrap().remove(0);
    let html = integrations::snippet(&form, "https://crm.example/");
    assert!(html.contains(&format!("action=\"https://crm.example/api/v1/forms/{}\"", form.key)));
    for name in [
        "name",
        "phone",
        "email",
        "comment",
        "consent",
        "page",
        integrations::HONEYPOT_FIELD,
    ] {
        assert!(html.contains(&format!("name=\"{name}\"")), "{name} missing");
    }
    for k in integrations::UTM_KEYS {
        assert!(html.contains(&format!("name=\"{k}\"")), "{k} missing");
    }
    assert!(
        html.contains("Согласен &lt;с условиями&gt;"),
        "the consent text is escaped"
    );
}
