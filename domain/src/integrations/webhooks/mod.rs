//! Outgoing webhooks: admins subscribe URLs to business events (a lead
//! created, moved, won or lost, a lot sold, a return decided, a partner
//! registered). The domain-events dispatcher turns each event into one
//! delivery per listening subscription (`fanout`) in the same transaction
//! that marks the event handled; a worker posts them (`delivery`) signed
//! with the subscription's secret — `X-Mak-Signature: t=<unix>,v1=<hex>`,
//! HMAC-SHA256 over `"{t}.{body}"` —, in order per record, retrying with
//! growing pauses for a day. The log keeps every attempt and replays a
//! delivery on request (`log`); a subscription failing for a day is paused
//! and its owner told. Managing them is a company setting (`settings:edit`).

mod delivery;
mod fanout;
mod log;
mod subscriptions;

pub use delivery::{deliver_due, sign, verify, DeliveryClient, SIGNATURE_HEADER};
pub(crate) use fanout::on_event;
pub use log::{
    delivery_detail, list_deliveries, purge_log, replay_delivery, send_test, Attempt, Delivery, DeliveryDetail,
};
pub use subscriptions::{
    create_subscription, delete_subscription, get_subscription, list_subscriptions, pause_subscription,
    resume_subscription, rotate_secret, update_subscription, CreatedSubscription, Subscription, SubscriptionInput,
};

/// An event a URL can be subscribed to: its public name and its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct EventType {
    pub name: &'static str,
    pub label: &'static str,
}

/// Every event a subscription may listen to, in the order the settings
/// page lists them.
pub const EVENT_TYPES: [EventType; 9] = [
    EventType {
        name: "lead.created",
        label: "Лид создан",
    },
    EventType {
        name: "lead.stage_changed",
        label: "Лид перешёл на другой этап",
    },
    EventType {
        name: "lead.status_changed",
        label: "У лида сменился статус",
    },
    EventType {
        name: "lead.won",
        label: "Сделка выиграна",
    },
    EventType {
        name: "lead.lost",
        label: "Сделка проиграна",
    },
    EventType {
        name: "lead.assigned",
        label: "Лиду назначен ответственный",
    },
    EventType {
        name: "lot.sold",
        label: "Лот аукциона продан",
    },
    EventType {
        name: "return.decided",
        label: "Решение по возврату лида",
    },
    EventType {
        name: "partner.registered",
        label: "Партнёр зарегистрирован",
    },
];

/// The event a «Проверить» press sends, whatever the subscription listens to.
pub const PING: &str = "ping";

pub(crate) fn is_event_type(name: &str) -> bool {
    EVENT_TYPES.iter().any(|e| e.name == name)
}
