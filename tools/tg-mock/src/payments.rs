//! Payments in Telegram Stars, as the Bot API runs them for digital goods:
//! `sendInvoice` and `createInvoiceLink` (currency `XTR`, an empty provider
//! token, exactly one price), `answerPreCheckoutQuery` (the bot has ten
//! seconds), the `successful_payment` message with its
//! `telegram_payment_charge_id`, and `refundStarPayment`.
//!
//! The control call `POST /_mock/bots/{id}/pay` plays a user paying an
//! invoice: Telegram sends the bot a `pre_checkout_query`, waits for the
//! answer, and only when it is `ok` charges the user and sends the
//! `successful_payment` message (`repeat` delivers that message more than
//! once, as a redelivery would, to test that it is credited once).

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{as_i64, deliver, err, message_from, ok, person, too_many, Inner, Limits, Mock};

/// How long Telegram waits for `answerPreCheckoutQuery`.
pub const PRE_CHECKOUT_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub(crate) struct Invoice {
    title: String,
    description: String,
    payload: String,
    currency: String,
    amount: i64,
}

#[derive(Debug, Clone)]
struct Charge {
    bot_id: i64,
    user_id: i64,
    amount: i64,
    payload: String,
    refunded: bool,
}

#[derive(Default)]
pub(crate) struct Payments {
    /// (bot, message id) → the invoice that message carries.
    invoices: HashMap<(i64, i64), Invoice>,
    /// Invoice links (`https://t.me/$slug`) → (bot, invoice).
    links: HashMap<String, (i64, Invoice)>,
    /// Pre-checkout queries sent and not yet expired → the bot's answer.
    answers: HashMap<String, Option<(bool, Option<String>)>>,
    charges: HashMap<String, Charge>,
    next: u64,
}

impl Payments {
    fn next(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

/// The invoice a `sendInvoice` or `createInvoiceLink` describes, or the
/// Bot API's description of what is wrong with it.
fn invoice(p: &Map<String, Value>) -> Result<Invoice, &'static str> {
    let text = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (title, description, payload, currency) =
        (text("title"), text("description"), text("payload"), text("currency"));
    if title.is_empty() || title.chars().count() > 32 {
        return Err("Bad Request: INVOICE_TITLE_INVALID");
    }
    if description.is_empty() || description.chars().count() > 255 {
        return Err("Bad Request: INVOICE_DESCRIPTION_INVALID");
    }
    if payload.is_empty() || payload.len() > 128 {
        return Err("Bad Request: INVOICE_PAYLOAD_INVALID");
    }
    if currency != "XTR" {
        // Anything but Stars needs a payment provider, which this mock is not.
        return Err("Bad Request: PAYMENT_PROVIDER_INVALID");
    }
    if !text("provider_token").is_empty() {
        return Err("Bad Request: PAYMENT_PROVIDER_INVALID");
    }
    let prices: Vec<Value> = match p.get("prices") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
        _ => Vec::new(),
    };
    if prices.len() != 1 {
        return Err("Bad Request: STARS_INVOICE_INVALID");
    }
    let amount = as_i64(prices[0].get("amount")).unwrap_or(0);
    if !(1..=100_000).contains(&amount) {
        return Err("Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID");
    }
    Ok(Invoice {
        title,
        description,
        payload,
        currency,
        amount,
    })
}

/// The payment methods of the Bot API; the caller holds the mock's lock.
pub(crate) fn method(inner: &mut Inner, bot_id: i64, method: &str, p: &Map<String, Value>, limits: Limits) -> Response {
    match method {
        "sendInvoice" => {
            let Some(chat_id) = as_i64(p.get("chat_id")) else {
                return err(400, "Bad Request: chat_id is empty");
            };
            let inv = match invoice(p) {
                Ok(i) => i,
                Err(e) => return err(400, e),
            };
            let b = inner.bots.entry(bot_id).or_default();
            if b.blocked.contains(&chat_id) {
                return err(403, "Forbidden: bot was blocked by the user");
            }
            if let Some(retry) = b.take_send_slot(chat_id, limits, std::time::Instant::now()) {
                inner.rate_limited += 1;
                return too_many(retry);
            }
            b.next_message_id += 1;
            let message_id = b.next_message_id;
            b.sent.push(json!({
                "method": "sendInvoice",
                "chat_id": chat_id,
                "message_id": message_id,
                "text": inv.title,
                "invoice": { "title": inv.title, "description": inv.description, "payload": inv.payload,
                             "currency": inv.currency, "total_amount": inv.amount },
                "reply_markup": p.get("reply_markup"),
                "at_ms": super::millis_now() as u64,
            }));
            b.accepted += 1;
            inner.sent_total += 1;
            let mut message = message_from(message_id, chat_id, super::bot_user(bot_id, b));
            message["invoice"] = json!({
                "title": inv.title, "description": inv.description, "start_parameter": "",
                "currency": inv.currency, "total_amount": inv.amount,
            });
            inner.payments.invoices.insert((bot_id, message_id), inv);
            ok(message)
        }
        "createInvoiceLink" => {
            let inv = match invoice(p) {
                Ok(i) => i,
                Err(e) => return err(400, e),
            };
            let slug = format!("mockinvoice{}", inner.payments.next());
            inner.payments.links.insert(slug.clone(), (bot_id, inv));
            ok(json!(format!("https://t.me/${slug}")))
        }
        "answerPreCheckoutQuery" => {
            let id = p.get("pre_checkout_query_id").and_then(Value::as_str).unwrap_or("");
            let good =
                matches!(p.get("ok"), Some(Value::Bool(true))) || p.get("ok").and_then(Value::as_str) == Some("true");
            let message = p.get("error_message").and_then(Value::as_str).map(str::to_string);
            if !good && message.as_deref().unwrap_or("").is_empty() {
                return err(400, "Bad Request: ERROR_MESSAGE_EMPTY");
            }
            match inner.payments.answers.get_mut(id) {
                Some(slot @ None) => {
                    *slot = Some((good, message));
                    ok(json!(true))
                }
                _ => err(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID is invalid",
                ),
            }
        }
        "refundStarPayment" => {
            let user = as_i64(p.get("user_id"));
            let charge_id = p
                .get("telegram_payment_charge_id")
                .and_then(Value::as_str)
                .unwrap_or("");
            match inner.payments.charges.get_mut(charge_id) {
                Some(c) if c.bot_id == bot_id && Some(c.user_id) == user => {
                    if c.refunded {
                        return err(400, "Bad Request: CHARGE_ALREADY_REFUNDED");
                    }
                    c.refunded = true;
                    ok(json!(true))
                }
                _ => err(400, "Bad Request: CHARGE_NOT_FOUND"),
            }
        }
        _ => err(404, "Not Found"),
    }
}

#[derive(Deserialize)]
pub(crate) struct Pay {
    chat_id: i64,
    /// The invoice message the user taps «Оплатить» under…
    #[serde(default)]
    message_id: Option<i64>,
    /// …or the invoice link they opened.
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    /// How many times the `successful_payment` message arrives (default 1).
    #[serde(default)]
    repeat: Option<u32>,
}

/// `POST /_mock/bots/{id}/pay`: a user pays an invoice (see the module).
pub(crate) async fn pay(State(mock): State<Mock>, Path(bot_id): Path<i64>, Json(pay): Json<Pay>) -> Response {
    let (inv, query_id) = {
        let mut inner = mock.inner.lock().await;
        let found = match (&pay.message_id, &pay.link) {
            (Some(m), _) => inner.payments.invoices.get(&(bot_id, *m)).cloned(),
            (None, Some(l)) => {
                let slug = l.rsplit('$').next().unwrap_or("");
                inner
                    .payments
                    .links
                    .get(slug)
                    .filter(|(b, _)| *b == bot_id)
                    .map(|(_, i)| i.clone())
            }
            (None, None) => None,
        };
        let Some(inv) = found else {
            return (
                axum::http::StatusCode::NOT_FOUND,
                Json(json!({ "error": "no such invoice" })),
            )
                .into_response();
        };
        let id = format!("pcq{}", inner.payments.next());
        inner.payments.answers.insert(id.clone(), None);
        (inv, id)
    };
    let from = person(&mock, pay.chat_id, pay.first_name.clone(), None).await;
    let query = json!({ "pre_checkout_query": {
        "id": query_id, "from": from, "currency": inv.currency, "total_amount": inv.amount,
        "invoice_payload": inv.payload,
    }});
    deliver(&mock, bot_id, query).await;
    let deadline = tokio::time::Instant::now() + PRE_CHECKOUT_WAIT;
    let answer = loop {
        let notified = mock.answered.notified();
        if let Some(Some(a)) = mock.inner.lock().await.payments.answers.get(&query_id) {
            break Some(a.clone());
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            break None;
        }
    };
    mock.inner.lock().await.payments.answers.remove(&query_id);
    match answer {
        None => return Json(json!({ "pre_checkout": "timeout" })).into_response(),
        Some((false, message)) => {
            return Json(json!({ "pre_checkout": "refused", "error_message": message })).into_response()
        }
        Some((true, _)) => {}
    }
    let (charge_id, message_id) = {
        let mut inner = mock.inner.lock().await;
        let n = inner.payments.next();
        let charge_id = format!("stxMOCK{n:08}");
        inner.payments.charges.insert(
            charge_id.clone(),
            Charge {
                bot_id,
                user_id: pay.chat_id,
                amount: inv.amount,
                payload: inv.payload.clone(),
                refunded: false,
            },
        );
        let b = inner.bots.entry(bot_id).or_default();
        b.next_message_id += 1;
        (charge_id, b.next_message_id)
    };
    let mut message = message_from(message_id, pay.chat_id, from);
    message["successful_payment"] = json!({
        "currency": inv.currency, "total_amount": inv.amount, "invoice_payload": inv.payload,
        "telegram_payment_charge_id": charge_id, "provider_payment_charge_id": "",
    });
    let mut delivered = Vec::new();
    for _ in 0..pay.repeat.unwrap_or(1).max(1) {
        let r = deliver(&mock, bot_id, json!({ "message": message })).await;
        delivered.push(body_json(r).await);
    }
    Json(json!({ "pre_checkout": "ok", "charge_id": charge_id, "amount": inv.amount, "delivered": delivered }))
        .into_response()
}

async fn body_json(r: Response) -> Value {
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// `GET /_mock/bots/{id}/charges`: the Stars the bot was paid, and refunds.
pub(crate) async fn charges(State(mock): State<Mock>, Path(bot_id): Path<i64>) -> Response {
    let inner = mock.inner.lock().await;
    let mut list: Vec<Value> = inner
        .payments
        .charges
        .iter()
        .filter(|(_, c)| c.bot_id == bot_id)
        .map(|(id, c)| {
            json!({ "charge_id": id, "user_id": c.user_id, "amount": c.amount, "payload": c.payload,
                    "refunded": c.refunded })
        })
        .collect();
    list.sort_by(|a, b| a["charge_id"].as_str().cmp(&b["charge_id"].as_str()));
    Json(list).into_response()
}
