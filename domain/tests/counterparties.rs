mod common;

use common::*;
use domain::auction::{self, NewFranchisee};
use domain::counterparties::{self, CardInput, CardQuery, CounterpartyError};
use domain::types::Role;
use domain::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn every_partner_and_office_has_a_card_with_a_public_id(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let (team, user) = auction::create_franchisee(
        &pool,
        NewFranchisee {
            email: "office@example.ru",
            full_name: "Франчайзи",
            company: "Офис Казань",
            password: "franchisee-password",
            deposit: None,
        },
    )
    .await
    .unwrap();
    let office = actor(&pool, user).await;
    let mine = counterparties::own_card(&pool, &partner).await.unwrap();
    assert!(
        mine.public_id.starts_with("P-") && mine.public_id.len() == 8,
        "{}",
        mine.public_id
    );
    assert_eq!(mine.user_id, Some(partner.user_id));
    assert!(!mine.complete);
    let theirs = counterparties::own_card(&pool, &office).await.unwrap();
    assert!(theirs.public_id.starts_with("F-"));
    assert_eq!(theirs.team_id, Some(team));
    assert_eq!(theirs.card.name, "Офис Казань");
    assert!(matches!(
        counterparties::own_card(&pool, &admin).await,
        Err(CounterpartyError::NotFound)
    ));
    let all = counterparties::list_cards(&pool, &admin, &CardQuery::default())
        .await
        .unwrap();
    assert_eq!(all.total, 2);
    let found = counterparties::list_cards(
        &pool,
        &admin,
        &CardQuery {
            q: Some("казань".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].public_id, theirs.public_id);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_partner_fills_the_card_bad_input_changes_nothing_and_a_new_account_rings_hq(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let before = counterparties::own_card(&pool, &partner).await.unwrap();
    let id = before.id;

    let mut bad = ip_card();
    bad.inn = "500100732258".into();
    bad.settlement_account = "40702810938000000002".into();
    let Err(CounterpartyError::Validation(fields)) = counterparties::update_card(&pool, &partner, id, &bad).await
    else {
        panic!("bad requisites are refused");
    };
    let named: Vec<_> = fields.iter().map(|f| (f.field.as_str(), f.message.as_str())).collect();
    assert_eq!(
        named,
        [
            ("inn", "Неверная контрольная сумма ИНН"),
            (
                "settlement_account",
                "Расчётный счёт не сходится с БИК: проверьте обе цифры"
            )
        ]
    );
    assert_eq!(
        counterparties::card(&pool, &partner, id).await.unwrap(),
        before,
        "nothing changed"
    );

    let saved = counterparties::update_card(&pool, &partner, id, &ip_card())
        .await
        .unwrap();
    assert!(saved.complete);
    assert_eq!(saved.card.ogrn.as_deref(), Some("304500116000157"));
    let bells: i64 = sqlx::query_scalar(
        "select count(*) from notifications where user_id = $1 and title = 'Изменены банковские реквизиты'",
    )
    .bind(admin.user_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(bells, 1, "HQ hears of the new bank details");
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where entity = 'company_card' and entity_id = $1")
            .bind(id.to_string())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);

    // Saving the same bank again rings nobody; HQ's own edit neither.
    let mut renamed = ip_card();
    renamed.postal_address = "420111, г. Казань, а/я 5".into();
    counterparties::update_card(&pool, &partner, id, &renamed)
        .await
        .unwrap();
    renamed.settlement_account = "40702810138000000002".into();
    let Err(CounterpartyError::Validation(_)) = counterparties::update_card(&pool, &admin, id, &renamed).await else {
        panic!("the key is checked for HQ too");
    };
    renamed.settlement_account = "40702810238000000002".into();
    counterparties::update_card(&pool, &admin, id, &renamed).await.unwrap();
    let bells_after: i64 =
        sqlx::query_scalar("select count(*) from notifications where title = 'Изменены банковские реквизиты'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(bells_after, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn nobody_reads_or_edits_someone_elses_card(pool: PgPool) {
    let admin = admin(&pool).await;
    let one = user_with_role(&pool, &admin, "one@example.ru", Role::Partner).await;
    let two = user_with_role(&pool, &admin, "two@example.ru", Role::Partner).await;
    let staff = user_with_role(&pool, &admin, "staff@example.ru", Role::Employee).await;
    let two_card = counterparties::own_card(&pool, &two).await.unwrap().id;
    assert!(matches!(
        counterparties::card(&pool, &one, two_card).await,
        Err(CounterpartyError::Rbac(_))
    ));
    assert!(matches!(
        counterparties::update_card(&pool, &one, two_card, &ip_card()).await,
        Err(CounterpartyError::Rbac(_))
    ));
    let listed = counterparties::list_cards(&pool, &one, &CardQuery::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 1, "a partner's list holds only their own card");
    // An employee sees every card but may not change one (users:edit is not theirs).
    assert!(counterparties::card(&pool, &staff, two_card).await.is_ok());
    assert!(!counterparties::may_edit(&pool, &staff, two_card).await.unwrap());
    assert!(counterparties::may_edit(&pool, &admin, two_card).await.unwrap());
    assert!(counterparties::update_card(&pool, &admin, two_card, &ip_card())
        .await
        .is_ok());
}

#[test]
fn a_card_read_from_the_api_can_be_sent_back_with_its_nulls() {
    let input: CardInput = serde_json::from_value(
        serde_json::json!({ "legal_form": "individual", "name": "Пётр", "inn": null, "kpp": null }),
    )
    .unwrap();
    assert_eq!(input.inn, "");
    assert_eq!(input.name, "Пётр");
    assert_eq!(input.tax_regime, "", "absent fields are empty");
}
