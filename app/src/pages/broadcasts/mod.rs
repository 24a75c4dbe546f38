//! Broadcasts of a bot: the list, the composer, segments, contact import,
//! settings (`home`), and one broadcast with its live progress and
//! statistics (`detail`).

pub mod api;
mod composer;
mod contacts;
mod detail;
mod home;
pub mod model;
mod segments;

pub use detail::BroadcastPage;
pub use home::BroadcastsPage;
