//! What the benchmarks next to the mock share: arguments, commands, a
//! fresh server process and waiting for it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The value after `name` on the command line.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Runs a command and returns what it printed; panics with its stderr.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("command runs");
    if !out.status.success() {
        panic!("{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr));
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs one statement with psql and returns what it printed.
pub fn psql(url: &str, sql: &str) -> String {
    run(Command::new("psql").args([url, "-qtAc", sql]))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `mak-crm serve` on `port` in webhook mode against the mock, with `env`
/// on top.
pub fn start_server(bin: &str, db: &str, port: u16, mock: &str, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .env("DATABASE_URL", db)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("TELEGRAM_API_URL", mock)
        .env("SECRET_KEY", "44".repeat(32))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("server starts")
}

pub async fn wait_ready(http: &reqwest::Client, base: &str) {
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server did not become ready");
}
