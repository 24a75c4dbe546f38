//! `ai-mock [--port N] [--key K] [--latency-ms N] [--per-minute N]`: the
//! mock OpenAI-compatible API as a process (for the browser tests and the
//! assistant benchmark). Prints `listening on http://ADDR` once it accepts
//! connections; the base URL to configure is that address plus `/v1`.

use std::net::SocketAddr;

use ai_mock::{Config, Mock};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let port: u16 = arg("--port").and_then(|p| p.parse().ok()).unwrap_or(0);
    let mut config = Config::default();
    if let Some(key) = arg("--key") {
        config.api_key = key;
    }
    if let Some(ms) = arg("--latency-ms").and_then(|n| n.parse().ok()) {
        config.latency_ms = ms;
    }
    if let Some(n) = arg("--per-minute").and_then(|n| n.parse().ok()) {
        config.per_minute = n;
    }
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let (bound, handle) = match Mock::new(config).serve(addr).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("ai-mock: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("listening on http://{bound}");
    let _ = handle.await;
}
