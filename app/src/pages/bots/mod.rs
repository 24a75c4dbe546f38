//! "Мои боты", the visual flow editor with its "Проверить" panel, the inbox.

pub mod api;
mod editor;
pub(crate) mod inbox;
mod link;
mod list;
pub mod model;

pub use editor::BotPage;
pub use inbox::InboxPage;
pub use link::TelegramLink;
pub use list::BotsPage;

pub(crate) fn confirm(text: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.confirm_with_message(text).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        false
    }
}
