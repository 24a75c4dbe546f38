//! Contracts in the browser: the agreement panel of a company card (the
//! partner's and the office's cabinet, HQ's card page) and the client's
//! papers on the client page (contracts generated or uploaded, documents,
//! files of the client's deals).

mod agreements;
mod api;
mod client;
mod model;

pub use agreements::Agreements;
pub use api::GenerateClientContract;
pub use client::{use_client_papers, ClientPapers};
pub use model::ClientPapersView;
