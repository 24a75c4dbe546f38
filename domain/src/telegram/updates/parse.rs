//! What an update is: its chat, its sender, and what was said or pressed.

use serde_json::{json, Value};

use crate::telegram::engine::Input;

/// The chat an update belongs to (updates of one chat are processed in order).
pub(super) fn chat_of(u: &Value) -> Option<i64> {
    u["message"]["chat"]["id"]
        .as_i64()
        .or_else(|| u["edited_message"]["chat"]["id"].as_i64())
        .or_else(|| u["callback_query"]["message"]["chat"]["id"].as_i64())
        .or_else(|| u["callback_query"]["from"]["id"].as_i64())
        .or_else(|| u["my_chat_member"]["chat"]["id"].as_i64())
        .or_else(|| u["pre_checkout_query"]["from"]["id"].as_i64())
}

/// Who sent an update.
pub(super) fn sender(u: &Value) -> &Value {
    for k in [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
        "pre_checkout_query",
    ] {
        if u[k]["from"].is_object() {
            return &u[k]["from"];
        }
    }
    &Value::Null
}

/// What an update means for the conversation.
pub(super) enum Parsed {
    Message {
        kind: &'static str,
        body: String,
        /// A photo's or document's file (empty for text).
        media: Value,
        input: Input,
        tg_message_id: Option<i64>,
        phone: Option<String>,
    },
    Button {
        data: String,
        callback_id: String,
    },
    Membership {
        blocked: bool,
    },
    /// Telegram asks whether the user may pay (answer within 10 s).
    PreCheckout {
        id: String,
        payload: String,
        currency: String,
        total: i64,
    },
    /// The user paid: `charge_id` is Telegram's id of the charge.
    Payment {
        payload: String,
        total: i64,
        charge_id: String,
        tg_message_id: Option<i64>,
    },
    Ignored,
}

pub(super) fn parse(u: &Value) -> Parsed {
    if let Some(p) = u["message"].get("successful_payment").filter(|p| p.is_object()) {
        return Parsed::Payment {
            payload: p["invoice_payload"].as_str().unwrap_or("").to_string(),
            total: p["total_amount"].as_i64().unwrap_or(0),
            charge_id: p["telegram_payment_charge_id"].as_str().unwrap_or("").to_string(),
            tg_message_id: u["message"]["message_id"].as_i64(),
        };
    }
    if let Some(q) = u.get("pre_checkout_query").filter(|q| q.is_object()) {
        return Parsed::PreCheckout {
            id: q["id"].as_str().unwrap_or("").to_string(),
            payload: q["invoice_payload"].as_str().unwrap_or("").to_string(),
            currency: q["currency"].as_str().unwrap_or("").to_string(),
            total: q["total_amount"].as_i64().unwrap_or(0),
        };
    }
    if let Some(m) = u.get("message").filter(|m| m.is_object()) {
        let text = m["text"].as_str().or(m["caption"].as_str()).unwrap_or("").to_string();
        let tg_message_id = m["message_id"].as_i64();
        if let Some(phone) = m["contact"]["phone_number"].as_str() {
            return Parsed::Message {
                kind: "contact",
                media: json!({}),
                body: phone.to_string(),
                input: Input::Contact(phone.to_string()),
                tg_message_id,
                phone: Some(phone.to_string()),
            };
        }
        // A photo (its largest size) or a document: what the inbox needs to
        // fetch it from Telegram later.
        let (kind, media) = if let Some(sizes) = m["photo"].as_array() {
            let big = sizes.last().cloned().unwrap_or_default();
            (
                "photo",
                json!({ "file_id": big["file_id"], "file_size": big["file_size"], "file_name": "photo.jpg",
                        "mime_type": "image/jpeg" }),
            )
        } else if m["document"].is_object() {
            let d = &m["document"];
            (
                "document",
                json!({ "file_id": d["file_id"], "file_size": d["file_size"], "file_name": d["file_name"],
                        "mime_type": d["mime_type"] }),
            )
        } else if text.starts_with('/') {
            ("command", json!({}))
        } else {
            ("text", json!({}))
        };
        return Parsed::Message {
            kind,
            input: Input::from_text(&text),
            body: text,
            media,
            tg_message_id,
            phone: None,
        };
    }
    if let Some(q) = u.get("callback_query").filter(|q| q.is_object()) {
        return Parsed::Button {
            data: q["data"].as_str().unwrap_or("").to_string(),
            callback_id: q["id"].as_str().unwrap_or("").to_string(),
        };
    }
    if let Some(m) = u.get("my_chat_member").filter(|m| m.is_object()) {
        let status = m["new_chat_member"]["status"].as_str().unwrap_or("");
        return Parsed::Membership {
            blocked: status == "kicked",
        };
    }
    Parsed::Ignored
}
