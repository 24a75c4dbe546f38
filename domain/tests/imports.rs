mod common;

use common::*;
use domain::imports::{self, StartInput};
use domain::types::Role;
use domain::PgPool;

fn cp1251(text: &str) -> Vec<u8> {
    encoding_rs::WINDOWS_1251.encode(text).0.into_owned()
}

async fn upload(pool: &PgPool, actor: &domain::Actor, name: &str, bytes: &[u8]) -> uuid::Uuid {
    let job = imports::create_upload(pool, actor, name).await.unwrap();
    for (i, c) in bytes.chunks(imports::CHUNK_BYTES).enumerate() {
        imports::append_chunk(pool, actor, job, i as i32, c).await.unwrap();
    }
    job
}

#[sqlx::test(migrations = "../migrations")]
async fn a_windows_1251_semicolon_csv_imports_with_duplicates_reported(pool: PgPool) {
    let admin = admin(&pool).await;
    // Known before the import.
    domain::leads::create_lead(
        &pool,
        &admin,
        domain::leads::NewLead {
            client_name: "Старый Клиент".into(),
            phone: "+79990000001".into(),
            consent: true,
            origin: "test".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let csv = "ФИО;Телефон;Email;Сумма;Продукт\n\
               Иванов Иван;8 (999) 000-00-01;;1 000 000;Ипотека\n\
               Петров Пётр;+7 999 000 00 02;petrov@mail.ru;500000;Автокредит\n\
               Петров П.;89990000002;;;\n\
               Сидоров;;PETROV@mail.ru;;\n\
               Без телефона;;;;\n\
               Кузнецов;+7 999 000 00 05;;много;\n\
               Новиков;+7 999 000 00 06;;;Неизвестное\n\
               Морозова;79990000007;;2 000 000,50;Ипотека\n";
    let job = upload(&pool, &admin, "leads.csv", &cp1251(csv)).await;
    let p = imports::preview(&pool, &admin, job, None, None, None).await.unwrap();
    assert_eq!(p.encoding, "windows-1251");
    assert_eq!(p.delimiter, "semicolon");
    assert_eq!(p.headers, ["ФИО", "Телефон", "Email", "Сумма", "Продукт"]);
    assert_eq!(p.mapping["client_name"], 0);
    assert_eq!(p.mapping["phone"], 1);
    assert_eq!(p.problems.len(), 3, "{:?}", p.problems);
    imports::start(
        &pool,
        &admin,
        job,
        StartInput {
            mapping: p.mapping.clone(),
            on_duplicate: "skip".into(),
            encoding: None,
            delimiter: None,
            sheet: None,
            consent_basis: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(imports::run_once(&pool).await.unwrap(), Some(job));
    let s = imports::status(&pool, &admin, job).await.unwrap();
    assert_eq!(s.status, "done");
    assert_eq!((s.created, s.skipped, s.failed, s.processed_rows), (2, 3, 3, 8));
    let report = imports::report_rows(&pool, &admin, job, 100).await.unwrap();
    let skipped: Vec<i64> = report
        .iter()
        .filter(|r| r.outcome == "skipped")
        .map(|r| r.row_number)
        .collect();
    assert_eq!(skipped, [2, 4, 5], "rows named by their line in the file");
    assert!(report
        .iter()
        .any(|r| r.reason.contains("Неизвестный продукт «Неизвестное»")));
    let amount: Option<i64> = sqlx::query_scalar("select l.amount_kopecks from leads l join client_phones p on p.client_id = l.client_id where p.phone = '+79990000007'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(amount, Some(200_000_050));
    // The same header set remembers its mapping.
    let again = upload(
        &pool,
        &admin,
        "more.csv",
        &cp1251("ФИО;Телефон;Email;Сумма;Продукт\nА;+79990000099;;;\n"),
    )
    .await;
    assert_eq!(
        imports::preview(&pool, &admin, again, None, None, None)
            .await
            .unwrap()
            .mapping,
        p.mapping
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_restart_in_the_middle_neither_loses_nor_duplicates_rows(pool: PgPool) {
    let admin = admin(&pool).await;
    let mut csv = String::from("name,phone\n");
    for i in 0..12_000 {
        csv.push_str(&format!("Клиент {i},+7916{i:07}\n"));
    }
    let job = upload(&pool, &admin, "big.csv", csv.as_bytes()).await;
    let p = imports::preview(&pool, &admin, job, None, None, None).await.unwrap();
    assert_eq!(p.delimiter, "comma");
    assert_eq!(p.encoding, "UTF-8");
    imports::start(
        &pool,
        &admin,
        job,
        StartInput {
            mapping: p.mapping,
            on_duplicate: "skip".into(),
            encoding: None,
            delimiter: None,
            sheet: None,
            consent_basis: None,
        },
    )
    .await
    .unwrap();
    // The worker dies after its first batch...
    imports::run_once_limited(&pool, Some(1)).await.unwrap();
    let first = imports::status(&pool, &admin, job).await.unwrap().processed_rows;
    assert!(first > 0 && first < 12_000, "one batch committed: {first}");
    // ...nobody else may take the job while its lease holds...
    assert_eq!(imports::run_once(&pool).await.unwrap(), None);
    // ...and after the lease expires another worker resumes where it stopped.
    sqlx::query("update import_jobs set locked_until = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(imports::run_once(&pool).await.unwrap(), Some(job));
    let s = imports::status(&pool, &admin, job).await.unwrap();
    assert_eq!(
        (s.status.as_str(), s.created, s.processed_rows),
        ("done", 12_000, 12_000)
    );
    let leads: i64 = sqlx::query_scalar("select count(*) from leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(leads, 12_000);
}

#[sqlx::test(migrations = "../migrations")]
async fn imports_need_the_import_right_and_a_cancel_stops_a_queued_job(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    assert!(imports::create_upload(&pool, &partner, "x.csv").await.is_err());
    assert!(imports::create_upload(&pool, &admin, "x.pdf").await.is_err());
    let job = upload(&pool, &admin, "x.csv", "ФИО;Телефон\nА;+79990000001\n".as_bytes()).await;
    let p = imports::preview(&pool, &admin, job, None, None, None).await.unwrap();
    imports::start(
        &pool,
        &admin,
        job,
        StartInput {
            mapping: p.mapping,
            on_duplicate: "create".into(),
            encoding: None,
            delimiter: None,
            sheet: None,
            consent_basis: None,
        },
    )
    .await
    .unwrap();
    imports::cancel(&pool, &admin, job).await.unwrap();
    assert_eq!(imports::run_once(&pool).await.unwrap(), None);
    assert_eq!(imports::status(&pool, &admin, job).await.unwrap().status, "cancelled");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_xlsx_sheet_is_streamed_from_the_chosen_sheet(pool: PgPool) {
    let admin = admin(&pool).await;
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet().set_name("Пусто").unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("Лиды").unwrap();
    // The table starts at B2; row 5 is left empty; amounts are numbers.
    for (c, h) in ["ФИО", "Телефон", "Сумма"].iter().enumerate() {
        sheet.write_string(1, 1 + c as u16, *h).unwrap();
    }
    sheet.write_string(2, 1, "Орлов Олег").unwrap();
    sheet.write_string(2, 2, "8 916 111-22-33").unwrap();
    sheet.write_number(2, 3, 1500000).unwrap();
    sheet.write_string(3, 1, "Орлова Ольга").unwrap();
    sheet.write_string(3, 2, "+7 916 111 22 44").unwrap();
    sheet.write_string(5, 1, "Соколов Семён").unwrap();
    sheet.write_string(5, 2, "9161112255").unwrap();
    sheet.write_number(5, 3, 250000.5).unwrap();
    let bytes = book.save_to_buffer().unwrap();

    let job = upload(&pool, &admin, "leads.xlsx", &bytes).await;
    let p = imports::preview(&pool, &admin, job, None, None, Some("Лиды".into()))
        .await
        .unwrap();
    assert_eq!(p.sheets, ["Пусто", "Лиды"]);
    assert_eq!(p.headers, ["ФИО", "Телефон", "Сумма"]);
    imports::start(
        &pool,
        &admin,
        job,
        StartInput {
            mapping: p.mapping.clone(),
            on_duplicate: "skip".into(),
            encoding: None,
            delimiter: None,
            sheet: Some("Лиды".into()),
            consent_basis: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(imports::run_once(&pool).await.unwrap(), Some(job));
    let s = imports::status(&pool, &admin, job).await.unwrap();
    assert_eq!((s.status.as_str(), s.created, s.failed), ("done", 3, 0));
    let amounts: Vec<Option<i64>> = sqlx::query_scalar(
        "select l.amount_kopecks from leads l join clients c on c.id = l.client_id order by c.full_name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(amounts, [Some(150_000_000), None, Some(25_000_050)]);
}

#[sqlx::test(migrations = "../migrations")]
async fn extra_fields_are_mapped_by_their_label_and_checked_per_row(pool: PgPool) {
    let admin = admin(&pool).await;
    let region = domain::leads::add_custom_field(&pool, &admin, "Регион", "choice", &["Москва".into(), "Тверь".into()])
        .await
        .unwrap();
    let income = domain::leads::add_custom_field(&pool, &admin, "Доход", "number", &[])
        .await
        .unwrap();
    let csv = "ФИО;Телефон;Регион;Доход\n\
               Первый;+7 999 100 00 01;Тверь;120 000\n\
               Второй;+7 999 100 00 02;Сочи;\n\
               Третий;+7 999 100 00 03;;много\n\
               Четвёртый;+7 999 100 00 04;Москва;\n";
    let job = upload(&pool, &admin, "leads.csv", csv.as_bytes()).await;
    let p = imports::preview(&pool, &admin, job, None, None, None).await.unwrap();
    assert_eq!(p.mapping[&region.key], 2, "mapped by the field's label");
    assert_eq!(p.mapping[&income.key], 3);
    assert_eq!(p.problems.len(), 2, "{:?}", p.problems);
    assert!(
        p.problems[0].1.starts_with("Регион: Выберите значение из списка"),
        "{:?}",
        p.problems
    );
    imports::start(
        &pool,
        &admin,
        job,
        StartInput {
            mapping: p.mapping.clone(),
            on_duplicate: "skip".into(),
            encoding: None,
            delimiter: None,
            sheet: None,
            consent_basis: None,
        },
    )
    .await
    .unwrap();
    imports::run_once(&pool).await.unwrap();
    let s = imports::status(&pool, &admin, job).await.unwrap();
    assert_eq!((s.created, s.failed), (2, 2));
    let extra: Vec<serde_json::Value> =
        sqlx::query_scalar("select l.extra from leads l join clients c on c.id = l.client_id order by c.full_name")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        extra,
        [
            serde_json::json!({ region.key.clone(): "Тверь", income.key.clone(): 120000.0 }),
            serde_json::json!({ region.key.clone(): "Москва" }),
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn consent_is_recorded_only_where_the_file_or_the_importer_declares_it(pool: PgPool) {
    let admin = admin(&pool).await;
    let run = |csv: &'static str, basis: Option<&'static str>| {
        let (pool, admin) = (pool.clone(), admin.clone());
        async move {
            let job = upload(&pool, &admin, "leads.csv", csv.as_bytes()).await;
            let p = imports::preview(&pool, &admin, job, None, None, None).await.unwrap();
            imports::start(
                &pool,
                &admin,
                job,
                StartInput {
                    mapping: p.mapping.clone(),
                    on_duplicate: "skip".into(),
                    encoding: None,
                    delimiter: None,
                    sheet: None,
                    consent_basis: basis.map(Into::into),
                },
            )
            .await
            .unwrap();
            imports::run_once(&pool).await.unwrap();
        }
    };
    let consent_of = |name: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (bool, Option<String>)>(
                "select consent_at is not null, consent_method from clients where full_name = $1",
            )
            .bind(name)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    run(
        "ФИО;Телефон;Согласие на обработку\nИванов;+79990000001;да\nПетров;+79990000002;нет\n\n;;\n",
        None,
    )
    .await;
    assert_eq!(consent_of("Иванов").await, (true, Some("import".into())));
    assert_eq!(consent_of("Петров").await, (false, None), "never recorded by default");
    run("ФИО;Телефон\nСидоров;+79990000003\n", None).await;
    assert_eq!(consent_of("Сидоров").await, (false, None));
    run(
        "ФИО;Телефон\nКузнецов;+79990000004\n",
        Some("согласия собраны партнёром, договор № 12"),
    )
    .await;
    assert_eq!(
        consent_of("Кузнецов").await,
        (true, Some("импорт: согласия собраны партнёром, договор № 12".into()))
    );
}
