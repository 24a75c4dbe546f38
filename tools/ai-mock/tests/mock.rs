//! The mock keeps the rules of an OpenAI-compatible API, checked over HTTP.

use std::time::Duration;

use ai_mock::{answer, Config, Failure, Mock};
use serde_json::{json, Value};

async fn start(config: Config) -> (Mock, String) {
    let mock = Mock::new(config);
    let (addr, _) = mock.clone().serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    (mock, format!("http://{addr}"))
}

fn ask(question: &str) -> Value {
    json!({ "model": "gpt-4o-mini", "messages": [
        { "role": "system", "content": "Ты помощник банка." },
        { "role": "user", "content": question },
    ] })
}

async fn post(base: &str, key: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn answers_deterministically_with_usage_and_refuses_bad_calls() {
    let (mock, base) = start(Config::default()).await;
    let body = ask("Какая ставка по ипотеке?");
    let r = post(&base, "sk-mock", &body).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.starts_with("**Ответ ИИ** на «Какая ставка по ипотеке?»"), "{text}");
    assert!(text.contains("Сообщений в контексте: 2."), "{text}");
    assert_eq!(text, answer(body["messages"].as_array().unwrap()));
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let u = &v["usage"];
    assert!(u["prompt_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        u["total_tokens"].as_u64(),
        Some(u["prompt_tokens"].as_u64().unwrap() + u["completion_tokens"].as_u64().unwrap())
    );
    // The same conversation, the same answer; another one differs.
    let again: Value = post(&base, "sk-mock", &body).await.json().await.unwrap();
    assert_eq!(
        again["choices"][0]["message"]["content"],
        v["choices"][0]["message"]["content"]
    );
    let other: Value = post(&base, "sk-mock", &ask("А по автокредиту?"))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(
        other["choices"][0]["message"]["content"],
        v["choices"][0]["message"]["content"]
    );

    let wrong = post(&base, "sk-wrong-1234", &body).await;
    assert_eq!(wrong.status(), 401);
    let e: Value = wrong.json().await.unwrap();
    assert_eq!(e["error"]["code"], "invalid_api_key");
    assert!(e["error"]["message"].as_str().unwrap().contains("sk-...1234"));

    let empty = post(&base, "sk-mock", &json!({ "model": "m", "messages": [] })).await;
    assert_eq!(empty.status(), 400);
    let e: Value = empty.json().await.unwrap();
    assert_eq!(e["error"]["type"], "invalid_request_error");
    assert_eq!(e["error"]["param"], "messages");

    let seen = mock.received().await;
    assert_eq!(seen.len(), 5);
    assert_eq!(
        seen.iter().map(|r| r.outcome.as_str()).collect::<Vec<_>>(),
        ["answer", "answer", "answer", "401", "400"]
    );
    assert!(!seen[3].key_ok);
}

#[tokio::test]
async fn a_labels_line_makes_it_a_classifier() {
    let (_mock, base) = start(Config::default()).await;
    let classify = |q: &str| {
        json!({ "model": "m", "messages": [
            { "role": "system", "content": "Определи, что нужно клиенту.\nМетки: ипотека | автокредит | другое" },
            { "role": "user", "content": q },
        ] })
    };
    for (q, label) in [
        ("Хочу ипотеку на квартиру", "ипотека"),
        ("Нужен АВТОКРЕДИТ", "автокредит"),
        ("Как дела?", "другое"),
    ] {
        let v: Value = post(&base, "sk-mock", &classify(q)).await.json().await.unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], label, "{q}");
    }
}

#[tokio::test]
async fn streams_the_same_answer_as_chunks_then_done() {
    let (_mock, base) = start(Config::default()).await;
    let mut body = ask("Расскажи про вклады #long");
    body["stream"] = json!(true);
    body["stream_options"] = json!({ "include_usage": true });
    let r = post(&base, "sk-mock", &body).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let raw = r.text().await.unwrap();
    let frames: Vec<&str> = raw.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    assert_eq!(frames.last(), Some(&"[DONE]"));
    let chunks: Vec<Value> = frames[..frames.len() - 1]
        .iter()
        .map(|f| serde_json::from_str(f).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, answer(body["messages"].as_array().unwrap()));
    assert!(
        text.chars().count() > 4096,
        "a #long answer exceeds one Telegram message"
    );
    assert!(chunks.iter().any(|c| c["choices"][0]["finish_reason"] == "stop"));
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert!(usage["usage"]["completion_tokens"].as_u64().unwrap() > 1000);
}

#[tokio::test]
async fn a_long_context_is_refused_with_context_length_exceeded() {
    let (_mock, base) = start(Config {
        context_tokens: 100,
        ..Config::default()
    })
    .await;
    let r = post(&base, "sk-mock", &ask(&"слово ".repeat(100))).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "context_length_exceeded");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("maximum context length is 100 tokens"));
    // Shorter fits, but not when max_tokens takes the rest of the window.
    assert_eq!(post(&base, "sk-mock", &ask("коротко")).await.status(), 200);
    let mut greedy = ask("коротко");
    greedy["max_tokens"] = json!(90);
    assert_eq!(post(&base, "sk-mock", &greedy).await.status(), 400);
}

#[tokio::test]
async fn scripted_failures_come_in_order_and_only_where_they_match() {
    let (mock, base) = start(Config::default()).await;
    mock.fail(Failure {
        status: Some(429),
        retry_after: Some(2),
        hang_secs: None,
        when: None,
        times: 2,
    })
    .await;
    for _ in 0..2 {
        let r = post(&base, "sk-mock", &ask("вопрос")).await;
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "2");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], "rate_limit_exceeded");
    }
    assert_eq!(post(&base, "sk-mock", &ask("вопрос")).await.status(), 200);

    // Through the control API, as the browser tests do: a 500 only for one chat.
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{base}/_mock/fail"))
        .json(&json!({ "status": 500, "when": "сломайся" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(post(&base, "sk-mock", &ask("обычный вопрос")).await.status(), 200);
    let r = post(&base, "sk-mock", &ask("ну сломайся же")).await;
    assert_eq!(r.status(), 500);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["type"], "server_error");
    assert_eq!(post(&base, "sk-mock", &ask("ну сломайся же")).await.status(), 200);

    // A hang: the caller's own timeout fires.
    mock.fail(Failure {
        status: None,
        retry_after: None,
        hang_secs: Some(30),
        when: None,
        times: 1,
    })
    .await;
    let timed = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth("sk-mock")
        .json(&ask("ждём"))
        .send()
        .await;
    assert!(timed.unwrap_err().is_timeout());
    let bad = c
        .post(format!("{base}/_mock/fail"))
        .json(&json!({ "times": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn a_minute_budget_answers_429_with_retry_after() {
    let (_mock, base) = start(Config {
        per_minute: 3,
        ..Config::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(post(&base, "sk-mock", &ask("вопрос")).await.status(), 200);
    }
    let r = post(&base, "sk-mock", &ask("вопрос")).await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
}

#[tokio::test]
async fn slow_answers_overlap_rather_than_queue() {
    let (mock, base) = start(Config {
        latency_ms: 400,
        ..Config::default()
    })
    .await;
    let calls = (0..40).map(|i| {
        let base = base.clone();
        async move { post(&base, "sk-mock", &ask(&format!("вопрос {i}"))).await.status() }
    });
    let statuses = futures::future::join_all(calls).await;
    assert!(statuses.iter().all(|s| *s == 200));
    let (requests, answered, peak) = mock.counters();
    assert_eq!((requests, answered), (40, 40));
    assert_eq!(peak, 40, "all forty were in flight together");
}
