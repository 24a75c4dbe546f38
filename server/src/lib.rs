//! The `mak-crm` binary's wiring: configuration, router, realtime fan-out,
//! OAuth2 and REST routes, metrics, CLI commands.

pub mod cli;
pub mod config;
pub mod documents;
pub mod metrics;
pub mod mtproto;
pub mod routes;
pub mod startup;
pub mod telemetry;
pub mod workers;

pub use startup::{AppState, Application};
