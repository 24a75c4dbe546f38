//! The client of an OpenAI-compatible chat-completions API (OpenAI,
//! OpenRouter with its attribution headers, a self-hosted server).
//!
//! What goes wrong is handled here, once, for every caller: a timeout, a
//! dropped connection or a 5xx is tried again after a growing pause; a 429
//! waits as long as its `Retry-After` says (within a bound); a 400 — most
//! often a context too long — halves the history and tries once more; a
//! refused key is not retried. Callers get an [`Answer`] with what the call
//! cost (tokens, latency, tries) or an [`AiError`] they can turn into a
//! friendly message without ever showing the provider's own text.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Where and how to ask: one per assistant bot, or the default from env.
#[derive(Clone, PartialEq)]
pub struct Provider {
    /// The API's base, e.g. `https://api.openai.com/v1` or `https://openrouter.ai/api/v1`.
    pub base_url: String,
    pub api_key: String,
    pub model: String,
    pub temperature: f32,
    pub max_tokens: u32,
    /// OpenRouter's optional attribution: `HTTP-Referer` and `X-Title`.
    pub referer: Option<String>,
    pub title: Option<String>,
}

impl std::fmt::Debug for Provider {
    // The key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// The default provider from `AI_API_URL`, `AI_API_KEY` and `AI_MODEL`
    /// (all three needed; the model defaults to `gpt-4o-mini`).
    pub fn from_env() -> Option<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Some(Self {
            base_url: var("AI_API_URL")?,
            api_key: var("AI_API_KEY")?,
            model: var("AI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
            temperature: 0.7,
            max_tokens: 1000,
            referer: var("AI_REFERER"),
            title: var("AI_TITLE"),
        })
    }

    fn endpoint(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(text: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: text.into(),
        }
    }
    pub fn user(text: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: text.into(),
        }
    }
    pub fn assistant(text: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: text.into(),
        }
    }
}

/// A completion and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub text: String,
    /// The model that answered, as the provider names it.
    pub model: String,
    pub tokens_in: i32,
    pub tokens_out: i32,
    /// From the first request to the answer, pauses included.
    pub latency: Duration,
    /// Requests made, the answering one included.
    pub tries: u32,
    /// The history was halved after a 400.
    pub trimmed: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AiError {
    /// Timeouts, 5xx or 429s until the tries ran out.
    #[error("ИИ сейчас недоступен ({tries} попыток): {reason}")]
    Unavailable { tries: u32, reason: String },
    /// 401/403: the key is wrong or revoked; asking again won't help.
    #[error("Ключ доступа к ИИ не принят")]
    BadKey,
    /// A 400 that trimming did not cure, or a 404/422 (a wrong model, say).
    #[error("Запрос к ИИ отклонён: {0}")]
    Rejected(String),
}

impl AiError {
    /// The tries made before giving up (0 where none was answered at all).
    pub fn tries(&self) -> u32 {
        match self {
            Self::Unavailable { tries, .. } => *tries,
            _ => 0,
        }
    }
}

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Requests at most (not counting the one retry after trimming).
    pub tries: u32,
    /// The pause after the first failure; each next one doubles.
    pub first_pause: Duration,
    pub max_pause: Duration,
    /// One request's time limit.
    pub timeout: Duration,
    /// A `Retry-After` longer than this is not waited for: the call gives up.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            tries: 3,
            first_pause: Duration::from_millis(500),
            max_pause: Duration::from_secs(8),
            timeout: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// One HTTP client for every provider (connections are pooled per host).
pub fn http() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .user_agent(concat!("MaK-CRM/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("the AI HTTP client builds")
        })
        .clone()
}

/// What one request came to.
enum Outcome {
    Answered(Answer),
    /// Worth another try after this pause (`None`: the policy's own).
    Again(String, Option<Duration>),
    /// A 400: trimming may cure it.
    TooMuch(String),
    Fatal(AiError),
}

/// Asks for a completion of `messages` (see the module for what is retried).
pub async fn complete(
    http: &reqwest::Client,
    provider: &Provider,
    messages: &[Message],
    policy: &RetryPolicy,
) -> Result<Answer, AiError> {
    let started = Instant::now();
    let mut history = messages.to_vec();
    let mut trimmed = false;
    let mut tries = 0u32;
    let mut failures = 0u32;
    loop {
        tries += 1;
        match once(http, provider, &history, policy).await {
            Outcome::Answered(mut a) => {
                a.latency = started.elapsed();
                a.tries = tries;
                a.trimmed = trimmed;
                return Ok(a);
            }
            Outcome::Fatal(e) => return Err(e),
            Outcome::TooMuch(reason) => match (trimmed, halve(&history)) {
                (false, Some(shorter)) => {
                    tracing::info!(tries, "AI: 400, retrying once with half the history");
                    history = shorter;
                    trimmed = true;
                }
                _ => return Err(AiError::Rejected(reason)),
            },
            Outcome::Again(reason, wait) => {
                failures += 1;
                if failures >= policy.tries {
                    return Err(AiError::Unavailable { tries, reason });
                }
                let pause = match wait {
                    Some(w) if w > policy.max_retry_after => return Err(AiError::Unavailable { tries, reason }),
                    Some(w) => w,
                    None => policy
                        .first_pause
                        .saturating_mul(1 << (failures - 1).min(16))
                        .min(policy.max_pause),
                };
                tracing::info!(tries, ?pause, %reason, "AI: trying again");
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// The history without the older half of its non-system messages (the
/// last message always stays); `None` when there is nothing to drop.
fn halve(history: &[Message]) -> Option<Vec<Message>> {
    let talk: Vec<usize> = (0..history.len())
        .filter(|i| history[*i].role != Role::System)
        .collect();
    if talk.len() < 2 {
        return None;
    }
    let drop = (talk.len() / 2).max(1).min(talk.len() - 1);
    let gone: std::collections::HashSet<usize> = talk[..drop].iter().copied().collect();
    Some(
        history
            .iter()
            .enumerate()
            .filter(|(i, _)| !gone.contains(i))
            .map(|(_, m)| m.clone())
            .collect(),
    )
}

async fn once(http: &reqwest::Client, p: &Provider, history: &[Message], policy: &RetryPolicy) -> Outcome {
    let body = json!({
        "model": p.model,
        "messages": history,
        "temperature": p.temperature,
        "max_tokens": p.max_tokens,
    });
    let mut req = http
        .post(p.endpoint())
        .bearer_auth(&p.api_key)
        .timeout(policy.timeout)
        .json(&body);
    if let Some(r) = &p.referer {
        req = req.header("HTTP-Referer", r);
    }
    if let Some(t) = &p.title {
        req = req.header("X-Title", t);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Outcome::Again("нет ответа вовремя".into(), None),
        Err(e) => return Outcome::Again(format!("нет соединения: {}", short(&e.to_string())), None),
    };
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = match resp.text().await {
        Ok(t) => t,
        Err(e) if e.is_timeout() => return Outcome::Again("нет ответа вовремя".into(), None),
        Err(e) => return Outcome::Again(format!("ответ оборвался: {}", short(&e.to_string())), None),
    };
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let reason = || {
        v["error"]["message"]
            .as_str()
            .map(short)
            .unwrap_or_else(|| format!("HTTP {status}"))
    };
    match status {
        200..=299 => match parse(&v, &p.model) {
            Some(a) => Outcome::Answered(a),
            // OpenRouter reports some failures as a 200 with an error body.
            None if v["error"].is_object() => Outcome::Again(reason(), None),
            None => Outcome::Again("ответ без текста".into(), None),
        },
        400 | 413 => Outcome::TooMuch(reason()),
        401 | 403 => Outcome::Fatal(AiError::BadKey),
        408 => Outcome::Again(reason(), None),
        429 => Outcome::Again(reason(), retry_after),
        500..=599 => Outcome::Again(reason(), retry_after),
        _ => Outcome::Fatal(AiError::Rejected(reason())),
    }
}

fn parse(v: &Value, asked: &str) -> Option<Answer> {
    let text = v["choices"][0]["message"]["content"].as_str()?.to_string();
    let count = |k: &str| v["usage"][k].as_i64().unwrap_or(0).clamp(0, i32::MAX as i64) as i32;
    Some(Answer {
        text,
        model: v["model"].as_str().unwrap_or(asked).to_string(),
        tokens_in: count("prompt_tokens"),
        tokens_out: count("completion_tokens"),
        latency: Duration::ZERO,
        tries: 0,
        trimmed: false,
    })
}

/// A provider's message, cut for a log line.
fn short(s: &str) -> String {
    s.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_keeps_system_messages_and_the_last_question() {
        let h = vec![
            Message::system("правила"),
            Message::user("1"),
            Message::assistant("2"),
            Message::user("3"),
            Message::assistant("4"),
            Message::user("5"),
        ];
        let half = halve(&h).unwrap();
        assert_eq!(
            half.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
            ["правила", "3", "4", "5"]
        );
        assert_eq!(halve(&[Message::system("s"), Message::user("q")]), None);
    }

    #[test]
    fn the_key_never_prints() {
        let p = Provider {
            base_url: "http://x/v1".into(),
            api_key: "sk-secret-123".into(),
            model: "m".into(),
            temperature: 0.5,
            max_tokens: 10,
            referer: None,
            title: None,
        };
        assert!(!format!("{p:?}").contains("sk-secret"));
        assert_eq!(p.endpoint(), "http://x/v1/chat/completions");
    }
}
