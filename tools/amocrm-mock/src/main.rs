//! `amocrm-mock [--port N] [--client-id ID] [--client-secret S] [--no-limits] [--seed N]`:
//! the mock amoCRM account as a process (for the browser tests and the
//! import benchmark). Prints `listening on http://ADDR` once it accepts
//! connections.

use std::net::SocketAddr;

use amocrm_mock::{Config, Mock};

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
    if let Some(id) = arg("--client-id") {
        config.client_id = id;
    }
    if let Some(secret) = arg("--client-secret") {
        config.client_secret = secret;
    }
    if args.iter().any(|a| a == "--no-limits") {
        config.per_second = 0;
        config.block_after = 0;
    }
    let mock = Mock::new(config);
    if let Some(n) = arg("--seed").and_then(|n| n.parse().ok()) {
        mock.seed(n).await;
    }
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let (bound, handle) = match mock.serve(addr).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("amocrm-mock: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("listening on http://{bound}");
    let _ = handle.await;
}
