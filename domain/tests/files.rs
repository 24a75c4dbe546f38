//! Lead files against a real S3-compatible server (s3s-fs, started by
//! scripts/test; it checks SigV4 signatures).

mod common;

use common::*;
use domain::leads::{self, CreateOutcome, LeadsError, NewLead, Storage};
use domain::rbac::RbacError;
use domain::types::Role;
use domain::PgPool;

async fn body(s: aws_sdk_s3::primitives::ByteStream) -> Vec<u8> {
    s.collect().await.unwrap().into_bytes().to_vec()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_file_is_stored_in_s3_listed_on_the_card_and_downloaded_only_with_the_right(pool: PgPool) {
    let st = storage();
    st.ensure_bucket().await.unwrap();
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@mak.test", Role::Partner).await;
    let CreateOutcome::Created { id, number, .. } = leads::create_lead(
        &pool,
        &admin,
        NewLead {
            client_name: "Файлов Фёдор".into(),
            phone: "+79990001234".into(),
            consent: true,
            origin: "test".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap() else {
        panic!("expected a lead")
    };
    let bytes = "Паспорт: 1234 567890".as_bytes().to_vec();
    let file = leads::attach_file(
        &pool,
        Some(&st),
        &admin,
        id,
        "C:\\сканы\\паспорт.txt",
        "text/plain",
        bytes.clone(),
    )
    .await
    .unwrap();

    let (meta, stream) = leads::open_file(&pool, Some(&st), &admin, file).await.unwrap();
    assert_eq!(meta.name, "паспорт.txt");
    assert_eq!(meta.size_bytes, bytes.len() as i64);
    assert_eq!(body(stream).await, bytes, "the same bytes come back from S3");

    let card = leads::get_lead(&pool, &admin, number).await.unwrap();
    let item = card
        .timeline
        .iter()
        .find(|t| t.kind == "file")
        .expect("the file is in the timeline");
    assert!(item.text.starts_with("паспорт.txt"));
    assert_eq!(item.link.as_deref(), Some(format!("/files/{file}").as_str()));

    // Someone who may not see the lead can't download its file or add one.
    let e = leads::open_file(&pool, Some(&st), &partner, file).await.unwrap_err();
    assert!(matches!(e, LeadsError::Rbac(RbacError::NotAllowed)), "{e:?}");
    let e = leads::attach_file(&pool, Some(&st), &partner, id, "x.txt", "", vec![1])
        .await
        .unwrap_err();
    assert!(matches!(e, LeadsError::Rbac(RbacError::NotAllowed)), "{e:?}");

    // Empty and oversized files are refused; nothing is written.
    let e = leads::attach_file(&pool, Some(&st), &admin, id, "empty.txt", "", vec![])
        .await
        .unwrap_err();
    assert!(matches!(e, LeadsError::EmptyFile));
    let big = vec![0u8; leads::MAX_FILE_BYTES + 1];
    let e = leads::attach_file(&pool, Some(&st), &admin, id, "big.bin", "", big)
        .await
        .unwrap_err();
    assert!(matches!(e, LeadsError::FileTooLarge));
    assert_eq!(e.to_string(), "Файл больше 20 МБ");
    let rows: i64 = sqlx::query_scalar("select count(*) from lead_files")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);

    // Without storage the upload says so instead of failing obscurely.
    let e = leads::attach_file(&pool, None, &admin, id, "a.txt", "", vec![1])
        .await
        .unwrap_err();
    assert!(matches!(e, LeadsError::Unavailable(_)));
    // Bad credentials: S3 refuses the signature, the user gets "unavailable", no row is written.
    let wrong = Storage::new(
        &std::env::var("S3_ENDPOINT").unwrap(),
        "us-east-1",
        "nobody",
        "wrong-secret",
        &std::env::var("S3_BUCKET").unwrap(),
    );
    let e = leads::attach_file(&pool, Some(&wrong), &admin, id, "a.txt", "", vec![1])
        .await
        .unwrap_err();
    assert!(matches!(e, LeadsError::Unavailable(_)), "{e:?}");
    let rows: i64 = sqlx::query_scalar("select count(*) from lead_files")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}
