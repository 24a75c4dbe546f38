//! What the sign-in, registration and security pages exchange with the server.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SignInStep {
    Done { redirect: String },
    SecondFactor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrolment {
    pub secret: String,
    pub qr_svg: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationView {
    pub email: String,
    pub role_label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: String,
    pub revoked: bool,
}
