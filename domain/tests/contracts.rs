//! Contracts against real PostgreSQL, a real S3-compatible server and the
//! real Typst renderer: agreements generated for approved partners and
//! offices, a client's contracts and documents, scoped by the client.

mod common;

use common::*;
use domain::contracts::{self, ClientContractInput, ContractError, Upload};
use domain::documents::{self, DocumentError};
use domain::rbac::RbacError;
use domain::types::Role;
use domain::{PgPool, Uuid};

async fn card_of_user(pool: &PgPool, user: Uuid) -> Uuid {
    sqlx::query_scalar("select id from company_cards where user_id = $1")
        .bind(user)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn card_of_team(pool: &PgPool, team: Uuid) -> Uuid {
    sqlx::query_scalar("select id from company_cards where team_id = $1")
        .bind(team)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn approved_partners_and_offices_get_their_agreement_once(pool: PgPool) {
    let st = storage();
    st.ensure_bucket().await.unwrap();
    let r = renderer();
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let office = user_with_role(&pool, &admin, "f@example.ru", Role::Franchisee).await;
    let pcard = card_of_user(&pool, partner.user_id).await;
    let fcard = card_of_team(&pool, office.team_id.unwrap()).await;
    // Nothing to do without S3 or a renderer: no failure recorded either.
    assert_eq!(
        contracts::issue_missing_agreements(&pool, None, Some(&r))
            .await
            .unwrap(),
        0
    );

    let n = contracts::issue_missing_agreements(&pool, Some(&st), Some(&r))
        .await
        .unwrap();
    assert_eq!(n, 2, "the partner's and the office's");
    assert_eq!(
        contracts::issue_missing_agreements(&pool, Some(&st), Some(&r))
            .await
            .unwrap(),
        0,
        "generated once"
    );

    let mine = contracts::agreements(&pool, &partner, pcard).await.unwrap();
    assert_eq!(mine.list.len(), 1);
    assert!(!mine.may_reissue, "only HQ reissues");
    let a = &mine.list[0];
    assert!(a.generated && !a.superseded && a.number.is_some());
    let (doc, body) = documents::open_document(&pool, Some(&st), &partner, a.document_id)
        .await
        .unwrap();
    let pdf = bytes(body).await;
    assert_eq!(doc.sha256, hex_sha256(&pdf));
    let text = pdf_text(&pdf);
    assert!(text.contains("об оказании услуг по привлечению клиентов"), "{text}");
    assert!(
        text.contains(&format!("Договор № {}", a.number.clone().unwrap())),
        "{text}"
    );
    assert!(text.contains("ООО «МаК»"), "HQ is a party: {text}");

    // Another partner sees neither the list nor the file.
    let other = user_with_role(&pool, &admin, "o@example.ru", Role::Partner).await;
    assert!(matches!(
        contracts::agreements(&pool, &other, pcard).await,
        Err(ContractError::Rbac(RbacError::NotAllowed))
    ));
    assert!(matches!(
        documents::open_document(&pool, Some(&st), &other, a.document_id).await,
        Err(DocumentError::Rbac(RbacError::NotAllowed))
    ));

    // The office's agreement is the office's kind.
    let office_list = contracts::agreements(&pool, &office, fcard).await.unwrap().list;
    let (_, body) = documents::open_document(&pool, Some(&st), &office, office_list[0].document_id)
        .await
        .unwrap();
    assert!(pdf_text(&bytes(body).await).contains("о работе регионального офиса"));

    // HQ reissues after the card changed: the old one is kept, replaced.
    domain::counterparties::update_card(&pool, &partner, pcard, &ip_card())
        .await
        .unwrap();
    assert!(matches!(
        contracts::issue_agreement(&pool, Some(&st), Some(&r), &partner, pcard).await,
        Err(ContractError::Rbac(_))
    ));
    let new = contracts::issue_agreement(&pool, Some(&st), Some(&r), &admin, pcard)
        .await
        .unwrap();
    assert_eq!(
        new.replaces
            .as_deref()
            .map(|s| s.starts_with(&a.number.clone().unwrap())),
        Some(true)
    );
    let list = contracts::agreements(&pool, &admin, pcard).await.unwrap().list;
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].id, list[0].superseded, list[1].superseded),
        (new.id, false, true)
    );
    let (_, body) = documents::open_document(&pool, Some(&st), &partner, new.document_id)
        .await
        .unwrap();
    let text = pdf_text(&bytes(body).await);
    assert!(text.contains("Взамен договора"), "{text}");
    assert!(text.contains(&ip_card().inn), "the new card's INN: {text}");
}

fn hex_sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[sqlx::test(migrations = "../migrations")]
async fn an_office_papers_its_own_clients_and_never_sees_another_offices(pool: PgPool) {
    let st = storage();
    st.ensure_bucket().await.unwrap();
    let r = renderer();
    let admin = admin(&pool).await;
    let kazan = user_with_role(&pool, &admin, "kazan@example.ru", Role::Franchisee).await;
    let samara = user_with_role(&pool, &admin, "samara@example.ru", Role::Franchisee).await;
    let (_, number, client) = created(
        domain::leads::create_lead(&pool, &kazan, lead("Смирнова Анна Петровна", "+7 917 300 00 01"))
            .await
            .unwrap(),
    );

    // A bad fee is refused before anything is written.
    let bad = ClientContractInput {
        lead: Some(number),
        fee: "пятьсот".into(),
    };
    assert!(matches!(
        contracts::issue_client_contract(&pool, Some(&st), Some(&r), &kazan, client, bad).await,
        Err(ContractError::Validation(f)) if f[0].field == "fee"
    ));
    let input = ClientContractInput {
        lead: Some(number),
        fee: "15 000".into(),
    };
    let c = contracts::issue_client_contract(&pool, Some(&st), Some(&r), &kazan, client, input)
        .await
        .unwrap();
    assert!(c.generated && c.title.starts_with("Договор №"));
    let (_, body) = documents::open_document(&pool, Some(&st), &kazan, c.document_id)
        .await
        .unwrap();
    let text = pdf_text(&bytes(body).await);
    assert!(text.contains("Смирнова Анна Петровна"), "{text}");
    assert!(text.contains("15 000,00"), "{text}");
    assert!(text.contains(&format!("по заявке № {number}")), "{text}");

    // An uploaded signed contract joins the contracts; a passport scan the documents.
    contracts::upload_client_document(
        &pool,
        Some(&st),
        &kazan,
        client,
        Upload {
            contract: true,
            title: "Договор № 7 (подписанный)".into(),
            file_name: "dogovor.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.4 signed".to_vec(),
        },
    )
    .await
    .unwrap();
    contracts::upload_client_document(
        &pool,
        Some(&st),
        &kazan,
        client,
        Upload {
            contract: false,
            title: String::new(),
            file_name: "C:\\scans\\passport.jpg".into(),
            content_type: String::new(),
            bytes: vec![0xff, 0xd8, 0xff],
        },
    )
    .await
    .unwrap();
    let bad_type = contracts::upload_client_document(
        &pool,
        Some(&st),
        &kazan,
        client,
        Upload {
            file_name: "virus.exe".into(),
            bytes: vec![1],
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(bad_type, Err(ContractError::Validation(_))));
    let papers = contracts::client_papers(&pool, &kazan, client).await.unwrap();
    assert!(papers.may_edit);
    assert_eq!(papers.contracts.len(), 2);
    assert!(papers.contracts.iter().any(|k| !k.generated && k.number.is_none()));
    assert_eq!(papers.documents.len(), 1);
    assert_eq!(papers.documents[0].title, "passport.jpg");

    // The other office: not the papers, not the file, not the contract form.
    assert!(matches!(
        contracts::client_papers(&pool, &samara, client).await,
        Err(ContractError::Document(DocumentError::Rbac(RbacError::NotAllowed)))
    ));
    assert!(matches!(
        documents::open_document(&pool, Some(&st), &samara, c.document_id).await,
        Err(DocumentError::Rbac(RbacError::NotAllowed))
    ));
    assert!(contracts::issue_client_contract(
        &pool,
        Some(&st),
        Some(&r),
        &samara,
        client,
        ClientContractInput::default()
    )
    .await
    .is_err());
    assert!(matches!(
        domain::leads::client_panel(&pool, &samara, client).await,
        Err(domain::leads::LeadsError::Rbac(RbacError::NotAllowed))
    ));
    // HQ sees everything; the client's panel counts the deal.
    assert_eq!(
        contracts::client_papers(&pool, &admin, client)
            .await
            .unwrap()
            .contracts
            .len(),
        2
    );
    let panel = domain::leads::client_panel(&pool, &kazan, client).await.unwrap();
    assert_eq!((panel.stats.deals, panel.stats.open), (1, 1));
    assert!(
        panel.history.iter().any(|e| e.what.starts_with("договор")),
        "{:?}",
        panel.history
    );
}
