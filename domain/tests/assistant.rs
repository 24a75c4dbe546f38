//! An assistant bot's users pay for questions: the trial first, then a
//! subscription within its limits, then credits — once per message, never
//! below zero, whatever the concurrency; failed answers give back what
//! they took; a Stars charge is credited once.

mod common;

use domain::assistant::{self, Admission, AssistantError, PaidWith};
use domain::PgPool;
use uuid::Uuid;

async fn assistant_bot(pool: &PgPool, trial_messages: i32, trial_days: i32) -> Uuid {
    let bot: Uuid = sqlx::query_scalar(
        "insert into bots (tg_id, username, token_enc, token_hash) values (777, 'helper_bot', '\\x00', 'h777') returning id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into assistant_settings (bot_id, enabled, trial_messages, trial_days) values ($1, true, $2, $3)",
    )
    .bind(bot)
    .bind(trial_messages)
    .bind(trial_days)
    .execute(pool)
    .await
    .unwrap();
    bot
}

async fn plan(pool: &PgPool, bot: Uuid, kind: &str, credits: i32, days: i32, daily: i32) -> Uuid {
    sqlx::query_scalar(
        "insert into assistant_plans (bot_id, kind, title, stars, credits, days, daily_limit)
         values ($1, $2, 'Тариф', 50, $3, $4, $5) returning id",
    )
    .bind(bot)
    .bind(kind)
    .bind(credits)
    .bind(days)
    .bind(daily)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn ask(pool: &PgPool, bot: Uuid, chat: i64, message: i64) -> Result<Admission, AssistantError> {
    let mut tx = pool.begin().await.unwrap();
    let r = assistant::take_question_in(&mut tx, bot, chat, message, "Какая ставка?").await;
    // Committed either way, as update processing does: a refusal must
    // leave nothing behind by itself.
    tx.commit().await.unwrap();
    r
}

async fn buy(pool: &PgPool, bot: Uuid, chat: i64, plan: Uuid, charge: &str) -> bool {
    let mut tx = pool.begin().await.unwrap();
    let done = assistant::credit_payment_in(&mut tx, bot, chat, plan, 50, charge, "payload")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    done
}

fn paid(a: Admission) -> PaidWith {
    match a {
        Admission::Admitted { paid_with, .. } => paid_with,
        other => panic!("not admitted: {other:?}"),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_trial_runs_out_then_plans_are_offered_and_a_pack_pays(pool: PgPool) {
    let bot = assistant_bot(&pool, 2, 0).await;
    // Before the trial is activated, nothing pays; the trial is offered.
    assert!(matches!(
        ask(&pool, bot, 1, 10).await,
        Err(AssistantError::NoAccess { trial_available: true })
    ));
    let s = assistant::activate_trial(&pool, bot, 1).await.unwrap();
    assert_eq!((s.trial_left, s.trial_active), (Some(2), true));
    assert!(matches!(
        assistant::activate_trial(&pool, bot, 1).await,
        Err(AssistantError::TrialUsed)
    ));

    assert_eq!(paid(ask(&pool, bot, 1, 11).await.unwrap()), PaidWith::Trial);
    assert_eq!(paid(ask(&pool, bot, 1, 12).await.unwrap()), PaidWith::Trial);
    assert!(matches!(
        ask(&pool, bot, 1, 13).await,
        Err(AssistantError::NoAccess { trial_available: false })
    ));
    // The refused question left no record.
    let asked: i64 = sqlx::query_scalar("select count(*) from assistant_questions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(asked, 2);

    let pack = plan(&pool, bot, "pack", 3, 0, 0).await;
    assert!(buy(&pool, bot, 1, pack, "stx-1").await);
    assert!(!buy(&pool, bot, 1, pack, "stx-1").await, "one charge, credited once");
    assert_eq!(assistant::standing(&pool, bot, 1).await.unwrap().credits, 3);
    assert_eq!(paid(ask(&pool, bot, 1, 13).await.unwrap()), PaidWith::Credit);
    assert_eq!(assistant::standing(&pool, bot, 1).await.unwrap().credits, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_redelivered_message_is_not_paid_for_twice(pool: PgPool) {
    let bot = assistant_bot(&pool, 0, 0).await;
    let pack = plan(&pool, bot, "pack", 5, 0, 0).await;
    buy(&pool, bot, 7, pack, "stx-7").await;
    let first = ask(&pool, bot, 7, 100).await.unwrap();
    let Admission::Admitted { question_id, .. } = first else {
        panic!("{first:?}")
    };
    assert_eq!(
        ask(&pool, bot, 7, 100).await.unwrap(),
        Admission::AlreadyTaken { question_id }
    );
    assert_eq!(assistant::standing(&pool, bot, 7).await.unwrap().credits, 4);
}

#[sqlx::test(migrations = "../migrations")]
async fn fifty_questions_at_once_on_ten_credits_take_exactly_ten(pool: PgPool) {
    let bot = assistant_bot(&pool, 0, 0).await;
    let pack = plan(&pool, bot, "pack", 10, 0, 0).await;
    buy(&pool, bot, 5, pack, "stx-5").await;
    let asks = (0..50).map(|m| {
        let pool = pool.clone();
        // Every message twice, as a redelivery racing the first delivery.
        tokio::spawn(async move { ask(&pool, bot, 5, 1000 + m % 25).await })
    });
    let results = futures::future::join_all(asks).await;
    let admitted = results
        .iter()
        .filter(|r| matches!(r.as_ref().unwrap(), Ok(Admission::Admitted { .. })))
        .count();
    assert_eq!(admitted, 10);
    assert_eq!(assistant::standing(&pool, bot, 5).await.unwrap().credits, 0);
    let (spent, entries): (i64, i64) = sqlx::query_as(
        "select coalesce(-sum(delta), 0), count(*) from assistant_credit_entries where reason = 'question'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((spent, entries), (10, 10));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_answer_gives_back_its_credit_or_trial_question_once(pool: PgPool) {
    let bot = assistant_bot(&pool, 1, 0).await;
    assistant::activate_trial(&pool, bot, 3).await.unwrap();
    let Admission::Admitted {
        question_id: by_trial, ..
    } = ask(&pool, bot, 3, 1).await.unwrap()
    else {
        panic!()
    };
    assert!(assistant::give_back(&pool, by_trial, "ИИ недоступен").await.unwrap());
    assert!(!assistant::give_back(&pool, by_trial, "ИИ недоступен").await.unwrap());
    assert_eq!(assistant::standing(&pool, bot, 3).await.unwrap().trial_left, Some(1));

    let pack = plan(&pool, bot, "pack", 1, 0, 0).await;
    buy(&pool, bot, 3, pack, "stx-3").await;
    assert_eq!(paid(ask(&pool, bot, 3, 2).await.unwrap()), PaidWith::Trial);
    let Admission::Admitted {
        question_id: by_credit,
        paid_with,
    } = ask(&pool, bot, 3, 3).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(paid_with, PaidWith::Credit);
    assert_eq!(assistant::standing(&pool, bot, 3).await.unwrap().credits, 0);
    let backs = (0..5).map(|_| {
        let pool = pool.clone();
        tokio::spawn(async move { assistant::give_back(&pool, by_credit, "500").await.unwrap() })
    });
    let given: usize = futures::future::join_all(backs)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(given, 1);
    assert_eq!(assistant::standing(&pool, bot, 3).await.unwrap().credits, 1);
    let state: String = sqlx::query_scalar("select state from assistant_questions where id = $1")
        .bind(by_credit)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, "failed");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_subscription_pays_within_its_daily_limit_then_credits_take_over(pool: PgPool) {
    let bot = assistant_bot(&pool, 0, 0).await;
    let monthly = plan(&pool, bot, "subscription", 0, 30, 2).await;
    assert!(buy(&pool, bot, 9, monthly, "stx-9").await);
    let s = assistant::standing(&pool, bot, 9).await.unwrap();
    assert!(s.subscription_active);
    assert_eq!(paid(ask(&pool, bot, 9, 1).await.unwrap()), PaidWith::Subscription);
    assert_eq!(paid(ask(&pool, bot, 9, 2).await.unwrap()), PaidWith::Subscription);
    assert!(matches!(ask(&pool, bot, 9, 3).await, Err(AssistantError::DailyLimit)));
    // Credits bought besides take over when the day's limit is used up.
    let pack = plan(&pool, bot, "pack", 2, 0, 0).await;
    buy(&pool, bot, 9, pack, "stx-10").await;
    assert_eq!(paid(ask(&pool, bot, 9, 3).await.unwrap()), PaidWith::Credit);
    assert_eq!(assistant::standing(&pool, bot, 9).await.unwrap().credits, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn credits_adjusted_by_hand_are_audited_and_never_go_below_zero(pool: PgPool) {
    let admin = common::admin(&pool).await;
    let bot = assistant_bot(&pool, 0, 0).await;
    let s = assistant::adjust_credits(&pool, &admin, bot, 4, 5, "Компенсация за сбой")
        .await
        .unwrap();
    assert_eq!(s.credits, 5);
    assert!(matches!(
        assistant::adjust_credits(&pool, &admin, bot, 4, -6, "Ошибка").await,
        Err(AssistantError::NotEnoughCredits)
    ));
    assert!(matches!(
        assistant::adjust_credits(&pool, &admin, bot, 4, 1, "  ").await,
        Err(AssistantError::Validation(_))
    ));
    let s = assistant::adjust_credits(&pool, &admin, bot, 4, -5, "Списание")
        .await
        .unwrap();
    assert_eq!(s.credits, 0);
    let audited: i64 = sqlx::query_scalar("select count(*) from audit_log where entity = 'assistant_wallet'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(audited, 2);
    // The entries are append-only.
    let rewrite = sqlx::query("update assistant_credit_entries set delta = 100")
        .execute(&pool)
        .await;
    assert!(rewrite.is_err());
    let erase = sqlx::query("delete from assistant_credit_entries").execute(&pool).await;
    assert!(erase.is_err());
    // …and go with their bot.
    sqlx::query("delete from bots where id = $1")
        .bind(bot)
        .execute(&pool)
        .await
        .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn plans_are_kept_by_the_bots_editors_and_checked(pool: PgPool) {
    use domain::assistant::{PlanInput, PlanKind};
    use domain::types::Role;
    let admin = common::admin(&pool).await;
    let bot = assistant_bot(&pool, 0, 0).await;
    let input = PlanInput {
        kind: PlanKind::Subscription,
        title: "Месяц".into(),
        description: "30 дней, до 20 вопросов в день".into(),
        stars: 300,
        credits: 0,
        days: 30,
        daily_limit: 20,
        monthly_limit: 0,
        active: true,
    };
    let month = assistant::save_plan(&pool, &admin, bot, None, &input).await.unwrap();
    assert_eq!(
        (month.kind, month.days, month.daily_limit),
        (PlanKind::Subscription, 30, 20)
    );
    let pack = PlanInput {
        kind: PlanKind::Pack,
        title: "50 вопросов".into(),
        stars: 100,
        credits: 50,
        ..input.clone()
    };
    let pack = assistant::save_plan(&pool, &admin, bot, None, &pack).await.unwrap();
    assert_eq!(
        (pack.credits, pack.days, pack.daily_limit),
        (50, 0, 0),
        "a pack keeps no subscription fields"
    );
    let off = PlanInput {
        active: false,
        ..input.clone()
    };
    assistant::save_plan(&pool, &admin, bot, Some(month.id), &off)
        .await
        .unwrap();
    let list = assistant::list_plans(&pool, &admin, bot).await.unwrap();
    assert_eq!(
        list.iter().map(|p| (p.title.as_str(), p.active)).collect::<Vec<_>>(),
        [("50 вопросов", true), ("Месяц", false)]
    );
    let bad = PlanInput {
        stars: 0,
        ..input.clone()
    };
    assert!(matches!(
        assistant::save_plan(&pool, &admin, bot, None, &bad).await,
        Err(AssistantError::Validation(_))
    ));
    let partner = common::user_with_role(&pool, &admin, "plans-partner@mak.test", Role::Partner).await;
    assert!(matches!(
        assistant::save_plan(&pool, &partner, bot, None, &input).await,
        Err(AssistantError::Rbac(_))
    ));
    assert!(matches!(
        assistant::list_plans(&pool, &admin, uuid::Uuid::new_v4()).await,
        Err(AssistantError::NotFound)
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_assistant_mode_keeps_its_key_secret_and_its_prompt_versioned(pool: PgPool) {
    use domain::assistant::SettingsInput;
    let admin = common::admin(&pool).await;
    let cipher = common::services(&pool).cipher;
    let bot: Uuid = sqlx::query_scalar(
        "insert into bots (tg_id, username, token_enc, token_hash) values (778, 'help2_bot', '\\x00', 'h778') returning id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let before = assistant::assistant_settings(&pool, &admin, bot).await.unwrap();
    assert!(!before.enabled);
    assert_eq!(before.prompt, assistant::DEFAULT_PROMPT);
    let input = SettingsInput {
        enabled: true,
        base_url: Some("http://127.0.0.1:9/v1/".into()),
        api_key: Some("sk-very-secret".into()),
        model: "gpt-4o-mini".into(),
        temperature: 0.3,
        max_tokens: 500,
        history_messages: 6,
        trial_messages: 3,
        trial_days: 0,
        terms: "Ответы ИИ не являются офертой.".into(),
        knowledge: vec!["Ставка по ипотеке от 9%".into(), "  ".into()],
        languages: vec![],
        price_in_kopecks: 0,
        price_out_kopecks: 0,
        prompt: "Ты помощник ипотечного брокера.".into(),
    };
    let saved = assistant::save_assistant_settings(&pool, &cipher, &admin, bot, &input)
        .await
        .unwrap();
    assert!(saved.has_key && saved.enabled);
    assert_eq!(saved.base_url.as_deref(), Some("http://127.0.0.1:9/v1"));
    assert_eq!(saved.knowledge, ["Ставка по ипотеке от 9%"]);
    assert_eq!(
        (saved.prompt_version, saved.languages.clone()),
        (1, vec!["ru".to_string()])
    );
    let shown = serde_json::to_string(&saved).unwrap();
    assert!(!shown.contains("sk-very-secret"));
    let stored: Vec<u8> = sqlx::query_scalar("select api_key_enc from assistant_settings where bot_id = $1")
        .bind(bot)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&stored).contains("sk-very-secret"),
        "encrypted at rest"
    );
    let audit: String = sqlx::query_scalar("select after::text from audit_log where entity = 'assistant_settings'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!audit.contains("sk-very-secret"));
    let p = assistant::provider_of(&pool, &cipher, bot).await.unwrap().unwrap();
    assert_eq!(
        (p.api_key.as_str(), p.base_url.as_str(), p.max_tokens),
        ("sk-very-secret", "http://127.0.0.1:9/v1", 500)
    );

    // Saving again without a key keeps it; the same prompt is no new version, a new one is.
    let again = SettingsInput {
        api_key: None,
        ..input.clone()
    };
    assert_eq!(
        assistant::save_assistant_settings(&pool, &cipher, &admin, bot, &again)
            .await
            .unwrap()
            .prompt_version,
        1
    );
    let changed = SettingsInput {
        api_key: None,
        prompt: "Ты помощник автосалона.".into(),
        ..input.clone()
    };
    let s = assistant::save_assistant_settings(&pool, &cipher, &admin, bot, &changed)
        .await
        .unwrap();
    assert_eq!((s.prompt_version, s.has_key), (2, true));
    // An address without a key, or a bad one, is refused with the field named.
    let no_key = SettingsInput {
        api_key: Some(String::new()),
        ..input.clone()
    };
    assert!(matches!(
        assistant::save_assistant_settings(&pool, &cipher, &admin, bot, &no_key).await,
        Err(AssistantError::Validation(f)) if f[0].field == "api_key"
    ));
    let bad = SettingsInput {
        base_url: Some("ftp://x".into()),
        temperature: 3.0,
        languages: vec!["ru".into(), "русский".into()],
        price_out_kopecks: -1,
        ..input.clone()
    };
    match assistant::save_assistant_settings(&pool, &cipher, &admin, bot, &bad).await {
        Err(AssistantError::Validation(f)) => {
            assert_eq!(
                f.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
                ["base_url", "temperature", "price_out_kopecks", "languages"]
            )
        }
        other => panic!("{other:?}"),
    }
}

/// An assistant bot whose provider is the AI mock.
async fn bot_on_mock(pool: &PgPool, config: ai_mock::Config) -> (Uuid, ai_mock::Mock, domain::crypto::Cipher) {
    use domain::assistant::SettingsInput;
    let mock = ai_mock::Mock::new(config);
    let (addr, _) = mock.clone().serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let admin = common::admin(pool).await;
    let cipher = common::services(pool).cipher;
    let bot = assistant_bot(pool, 0, 0).await;
    let input = SettingsInput {
        enabled: true,
        base_url: Some(format!("http://{addr}/v1")),
        api_key: Some("sk-mock".into()),
        model: "gpt-4o-mini".into(),
        temperature: 0.2,
        max_tokens: 300,
        history_messages: 4,
        trial_messages: 0,
        trial_days: 0,
        terms: String::new(),
        knowledge: vec!["Офис работает с 9 до 18".into()],
        languages: vec![],
        price_in_kopecks: 0,
        price_out_kopecks: 0,
        prompt: "Ты помощник банка.".into(),
    };
    assistant::save_assistant_settings(pool, &cipher, &admin, bot, &input)
        .await
        .unwrap();
    let pack = plan(pool, bot, "pack", 100, 0, 0).await;
    buy(pool, bot, 21, pack, "stx-21").await;
    (bot, mock, cipher)
}

fn quick() -> domain::ai::RetryPolicy {
    domain::ai::RetryPolicy {
        tries: 3,
        first_pause: std::time::Duration::from_millis(10),
        max_pause: std::time::Duration::from_millis(20),
        timeout: std::time::Duration::from_secs(5),
        max_retry_after: std::time::Duration::from_secs(1),
    }
}

async fn sent_texts(pool: &PgPool, bot: Uuid, chat: i64) -> Vec<String> {
    sqlx::query_scalar(
        "select body from bot_messages where bot_id = $1 and chat_id = $2 and direction = 'out' order by id",
    )
    .bind(bot)
    .bind(chat)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_paid_question_is_answered_in_telegram_html_with_the_chats_history(pool: PgPool) {
    let (bot, mock, _) = bot_on_mock(&pool, ai_mock::Config::default()).await;
    let tg = common::services(&pool).telegram;
    ask(&pool, bot, 21, 1).await.unwrap();
    let r = assistant::answer_pending(&tg, &quick(), 50).await.unwrap();
    assert_eq!((r.answered, r.failed), (1, 0));
    let sent = sent_texts(&pool, bot, 21).await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].starts_with("<b>Ответ ИИ</b> на «Какая ставка?»"), "{}", sent[0]);
    assert_eq!(assistant::answer_pending(&tg, &quick(), 50).await.unwrap().answered, 0);

    ask(&pool, bot, 21, 2).await.unwrap();
    assistant::answer_pending(&tg, &quick(), 50).await.unwrap();
    let seen = mock.received().await;
    let messages = seen[1].body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4, "the prompt, the earlier exchange, the question");
    assert!(messages[0]["content"]
        .as_str()
        .unwrap()
        .contains("Офис работает с 9 до 18"));
    assert_eq!(messages[2]["role"], "assistant");
    let (state, tokens): (String, Option<i32>) =
        sqlx::query_as("select state, tokens_out from assistant_questions where message_id = 2")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(state, "answered");
    assert!(tokens.unwrap() > 0);
    assert_eq!(assistant::standing(&pool, bot, 21).await.unwrap().credits, 98);
}

#[sqlx::test(migrations = "../migrations")]
async fn when_the_ai_fails_the_credit_comes_back_and_the_user_is_told(pool: PgPool) {
    let (bot, mock, _) = bot_on_mock(&pool, ai_mock::Config::default()).await;
    let tg = common::services(&pool).telegram;
    mock.fail(ai_mock::Failure {
        status: Some(500),
        retry_after: None,
        hang_secs: None,
        when: None,
        times: 3,
    })
    .await;
    ask(&pool, bot, 21, 1).await.unwrap();
    assert_eq!(assistant::standing(&pool, bot, 21).await.unwrap().credits, 99);
    let r = assistant::answer_pending(&tg, &quick(), 50).await.unwrap();
    assert_eq!((r.answered, r.failed), (0, 1));
    assert_eq!(assistant::standing(&pool, bot, 21).await.unwrap().credits, 100);
    assert_eq!(sent_texts(&pool, bot, 21).await, [assistant::SORRY]);
    assert_eq!(mock.counters().0, 3, "tried three times");
}

#[sqlx::test(migrations = "../migrations")]
async fn two_workers_at_once_answer_each_question_once_side_by_side(pool: PgPool) {
    let tg = common::services(&pool).telegram;
    let (bot, mock, _) = bot_on_mock(
        &pool,
        ai_mock::Config {
            latency_ms: 300,
            ..ai_mock::Config::default()
        },
    )
    .await;
    for m in 0..20 {
        ask(&pool, bot, 21, 100 + m).await.unwrap();
    }
    let policy = quick();
    let (a, b) = tokio::join!(
        assistant::answer_pending(&tg, &policy, 50),
        assistant::answer_pending(&tg, &policy, 50)
    );
    assert_eq!(a.unwrap().answered + b.unwrap().answered, 20);
    assert_eq!(sent_texts(&pool, bot, 21).await.len(), 20);
    let (requests, _, peak) = mock.counters();
    assert_eq!(requests, 20);
    assert!(peak >= 10, "answers overlap, not queue: peak {peak}");
}
