//! `tg-mock [--port N] [--no-limits]`: the mock Bot API as a process (for
//! the browser tests and the ingestion benchmark). Prints `listening on
//! http://ADDR` once it accepts connections.

use std::net::SocketAddr;

use tg_mock::{Limits, Mock};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args
        .iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let limits = if args.iter().any(|a| a == "--no-limits") {
        Limits {
            per_bot_per_sec: 0,
            per_chat_per_sec: 0,
        }
    } else {
        Limits::default()
    };
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let (bound, handle) = match Mock::new(limits).serve(addr).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("tg-mock: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("listening on http://{bound}");
    let _ = handle.await;
}
