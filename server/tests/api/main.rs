mod hardening;
mod helpers;
mod integrations;
mod load;
mod oauth;
mod permission_walk;
mod platform;
mod realtime;
