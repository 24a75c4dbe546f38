//! Telegram Stars in the mock, as a bot meets them: an invoice, the
//! pre-checkout query it must answer, the successful payment, the refund.

use serde_json::{json, Value};
use tg_mock::{Limits, Mock};

const TOKEN: &str = "4242:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

async fn start() -> String {
    let (addr, _) = Mock::new(Limits::default())
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    format!("http://{addr}")
}

async fn call(base: &str, method: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/bot{TOKEN}/{method}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn plan(amount: i64) -> Value {
    json!({ "chat_id": 77, "title": "50 вопросов", "description": "Пакет из 50 вопросов ИИ",
            "payload": "plan:1:chat:77", "currency": "XTR", "provider_token": "",
            "prices": [{ "label": "50 вопросов", "amount": amount }] })
}

/// Long-polls for the next update of the given kind.
async fn next_update(base: &str, offset: &mut i64, kind: &str) -> Value {
    loop {
        let (_, v) = call(base, "getUpdates", json!({ "offset": *offset, "timeout": 5 })).await;
        for u in v["result"].as_array().unwrap() {
            *offset = u["update_id"].as_i64().unwrap() + 1;
            if !u[kind].is_null() {
                return u.clone();
            }
        }
    }
}

#[tokio::test]
async fn an_invoice_is_paid_after_the_bot_says_yes_and_refunded_once() {
    let base = start().await;
    let (status, v) = call(&base, "sendInvoice", plan(100)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["result"]["invoice"]["currency"], "XTR");
    let message_id = v["result"]["message_id"].as_i64().unwrap();

    let payer = {
        let base = base.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{base}/_mock/bots/4242/pay"))
                .json(&json!({ "chat_id": 77, "message_id": message_id, "repeat": 2 }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    let mut offset = 0;
    let q = next_update(&base, &mut offset, "pre_checkout_query").await;
    let q = &q["pre_checkout_query"];
    assert_eq!(
        (q["currency"].as_str(), q["total_amount"].as_i64()),
        (Some("XTR"), Some(100))
    );
    assert_eq!(q["invoice_payload"], "plan:1:chat:77");
    let (status, _) = call(
        &base,
        "answerPreCheckoutQuery",
        json!({ "pre_checkout_query_id": q["id"], "ok": true }),
    )
    .await;
    assert_eq!(status, 200);
    let paid = payer.await.unwrap();
    assert_eq!(paid["pre_checkout"], "ok");
    let charge = paid["charge_id"].as_str().unwrap().to_string();

    // The payment message, twice, with the same charge id.
    for _ in 0..2 {
        let m = next_update(&base, &mut offset, "message").await;
        let sp = &m["message"]["successful_payment"];
        assert_eq!(sp["telegram_payment_charge_id"], charge.as_str());
        assert_eq!(sp["total_amount"], 100);
    }
    // An answer to an expired query is refused.
    let (status, v) = call(
        &base,
        "answerPreCheckoutQuery",
        json!({ "pre_checkout_query_id": q["id"], "ok": true }),
    )
    .await;
    assert_eq!(status, 400, "{v}");

    let refund = json!({ "user_id": 77, "telegram_payment_charge_id": charge });
    assert_eq!(call(&base, "refundStarPayment", refund.clone()).await.0, 200);
    let (status, v) = call(&base, "refundStarPayment", refund).await;
    assert_eq!(
        (status, v["description"].as_str()),
        (400, Some("Bad Request: CHARGE_ALREADY_REFUNDED"))
    );
    let (status, v) = call(
        &base,
        "refundStarPayment",
        json!({ "user_id": 78, "telegram_payment_charge_id": charge }),
    )
    .await;
    assert_eq!(
        (status, v["description"].as_str()),
        (400, Some("Bad Request: CHARGE_NOT_FOUND"))
    );
    let charges: Value = reqwest::get(format!("{base}/_mock/bots/4242/charges"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(charges[0]["refunded"], true);
}

#[tokio::test]
async fn a_refused_checkout_charges_nothing() {
    let base = start().await;
    let (_, link) = call(&base, "createInvoiceLink", plan(250)).await;
    let link = link["result"].as_str().unwrap().to_string();
    assert!(link.starts_with("https://t.me/$"));
    let payer = {
        let base = base.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{base}/_mock/bots/4242/pay"))
                .json(&json!({ "chat_id": 77, "link": link }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    let mut offset = 0;
    let q = next_update(&base, &mut offset, "pre_checkout_query").await;
    let no_reason = json!({ "pre_checkout_query_id": q["pre_checkout_query"]["id"], "ok": false });
    assert_eq!(call(&base, "answerPreCheckoutQuery", no_reason).await.0, 400);
    let refuse = json!({ "pre_checkout_query_id": q["pre_checkout_query"]["id"], "ok": false,
                         "error_message": "Тариф больше не продаётся" });
    assert_eq!(call(&base, "answerPreCheckoutQuery", refuse).await.0, 200);
    let paid = payer.await.unwrap();
    assert_eq!(paid["pre_checkout"], "refused");
    assert_eq!(paid["error_message"], "Тариф больше не продаётся");
    let charges: Value = reqwest::get(format!("{base}/_mock/bots/4242/charges"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(charges, json!([]));
}

#[tokio::test]
async fn invoices_outside_the_rules_of_stars_are_refused() {
    let base = start().await;
    let mut two_prices = plan(100);
    two_prices["prices"] = json!([{ "label": "a", "amount": 1 }, { "label": "b", "amount": 2 }]);
    let mut rubles = plan(100);
    rubles["currency"] = json!("RUB");
    let mut provider = plan(100);
    provider["provider_token"] = json!("381764678:TEST:1");
    for (body, why) in [
        (two_prices, "STARS_INVOICE_INVALID"),
        (rubles, "PAYMENT_PROVIDER_INVALID"),
        (provider, "PAYMENT_PROVIDER_INVALID"),
        (plan(0), "CURRENCY_TOTAL_AMOUNT_INVALID"),
    ] {
        let (status, v) = call(&base, "sendInvoice", body).await;
        assert_eq!(status, 400);
        assert_eq!(v["description"], format!("Bad Request: {why}"));
    }
}
