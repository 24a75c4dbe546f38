mod hardening;
mod helpers;
mod oauth;
mod permission_walk;
mod platform;
