//! The AI client against the mock OpenAI-compatible server: answers and
//! their cost, retries on 5xx, 429 and timeouts, the trim after a 400, and
//! the errors that are not retried.

use std::time::Duration;

use ai_mock::{Config, Failure, Mock};
use domain::ai::{complete, AiError, Message, Provider, RetryPolicy};

async fn mock(config: Config) -> (Mock, Provider) {
    let m = Mock::new(config);
    let (addr, _) = m.clone().serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let provider = Provider {
        base_url: format!("http://{addr}/v1/"),
        api_key: "sk-mock".into(),
        model: "gpt-4o-mini".into(),
        temperature: 0.2,
        max_tokens: 200,
        referer: Some("https://crm.mak.example".into()),
        title: Some("MaK CRM".into()),
    };
    (m, provider)
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        tries: 3,
        first_pause: Duration::from_millis(10),
        max_pause: Duration::from_millis(40),
        timeout: Duration::from_millis(500),
        max_retry_after: Duration::from_secs(2),
    }
}

fn failure(status: Option<u16>, retry_after: Option<u64>, hang_secs: Option<u64>, times: u32) -> Failure {
    Failure {
        status,
        retry_after,
        hang_secs,
        when: None,
        times,
    }
}

fn question(q: &str) -> Vec<Message> {
    vec![Message::system("Ты помощник банка."), Message::user(q)]
}

#[tokio::test]
async fn an_answer_comes_with_its_tokens_and_the_openrouter_headers() {
    let (m, p) = mock(Config::default()).await;
    let a = complete(&domain::ai::http(), &p, &question("Как открыть вклад?"), &quick())
        .await
        .unwrap();
    assert!(a.text.starts_with("**Ответ ИИ** на «Как открыть вклад?»"), "{}", a.text);
    assert_eq!(a.model, "gpt-4o-mini");
    assert!(a.tokens_in > 0 && a.tokens_out > 0);
    assert_eq!((a.tries, a.trimmed), (1, false));
    let seen = m.received().await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].referer.as_deref(), Some("https://crm.mak.example"));
    assert_eq!(seen[0].title.as_deref(), Some("MaK CRM"));
    assert_eq!(seen[0].body["max_tokens"], 200);
    assert_eq!(seen[0].body["messages"][0]["role"], "system");
}

#[tokio::test]
async fn server_errors_and_timeouts_are_tried_again_until_the_limit() {
    let (m, p) = mock(Config::default()).await;
    m.fail(failure(Some(500), None, None, 1)).await;
    m.fail(failure(None, None, Some(5), 1)).await;
    let a = complete(&domain::ai::http(), &p, &question("вопрос"), &quick())
        .await
        .unwrap();
    assert_eq!(a.tries, 3, "a 500, a timeout, then the answer");

    m.fail(failure(Some(502), None, None, 3)).await;
    let e = complete(&domain::ai::http(), &p, &question("вопрос"), &quick())
        .await
        .unwrap_err();
    assert!(matches!(e, AiError::Unavailable { tries: 3, .. }), "{e:?}");
    assert_eq!(m.counters().0, 6);
}

#[tokio::test]
async fn a_429_waits_as_long_as_retry_after_says_and_no_longer_than_allowed() {
    let (m, p) = mock(Config::default()).await;
    m.fail(failure(Some(429), Some(1), None, 1)).await;
    let started = std::time::Instant::now();
    let a = complete(&domain::ai::http(), &p, &question("вопрос"), &quick())
        .await
        .unwrap();
    assert_eq!(a.tries, 2);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");

    // A wait longer than the policy allows is not waited for.
    m.fail(failure(Some(429), Some(60), None, 1)).await;
    let e = complete(&domain::ai::http(), &p, &question("вопрос"), &quick())
        .await
        .unwrap_err();
    assert!(matches!(e, AiError::Unavailable { tries: 1, .. }), "{e:?}");
}

#[tokio::test]
async fn a_context_too_long_is_tried_once_more_with_half_the_history() {
    let (m, p) = mock(Config {
        context_tokens: 1000,
        ..Config::default()
    })
    .await;
    let mut history = vec![Message::system("Ты помощник банка.")];
    for i in 0..6 {
        history.push(Message::user(format!("вопрос {i} {}", "слово ".repeat(40))));
        history.push(Message::assistant(format!("ответ {i} {}", "слово ".repeat(40))));
    }
    history.push(Message::user("последний вопрос"));
    let a = complete(&domain::ai::http(), &p, &history, &quick()).await.unwrap();
    assert!(a.trimmed);
    assert_eq!(a.tries, 2);
    assert!(a.text.contains("«последний вопрос»"));
    let seen = m.received().await;
    assert_eq!(seen[0].outcome, "400");
    let sent = seen[1].body["messages"].as_array().unwrap();
    assert_eq!(sent[0]["role"], "system");
    assert_eq!(sent.len(), 1 + 7, "the older half of thirteen went");

    // When even the trimmed one is too long, it is refused, not retried on.
    let huge = vec![Message::system("правила"), Message::user("слово ".repeat(2000))];
    let e = complete(&domain::ai::http(), &p, &huge, &quick()).await.unwrap_err();
    assert!(
        matches!(e, AiError::Rejected(ref m) if m.contains("maximum context length")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_wrong_key_is_not_retried() {
    let (m, mut p) = mock(Config::default()).await;
    p.api_key = "sk-wrong".into();
    let e = complete(&domain::ai::http(), &p, &question("вопрос"), &quick())
        .await
        .unwrap_err();
    assert_eq!(e, AiError::BadKey);
    assert_eq!(m.counters().0, 1);
}
