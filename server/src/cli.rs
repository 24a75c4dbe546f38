//! Operator commands.

use rand::Rng;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::config::Config;
use crate::startup::Application;

type Res = Result<(), Box<dyn std::error::Error>>;

async fn pool() -> Result<PgPool, Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set")?;
    Ok(PgPoolOptions::new().max_connections(2).connect(&url).await?)
}

pub async fn serve() -> Res {
    let config = Config::from_env()?;
    let app = Application::build(config).await?;
    tracing::info!(addr = %app.addr(), "MaK CRM is serving");
    app.run_until_stopped().await?;
    Ok(())
}

/// `outreach`: only the outreach worker, as a process of its own (run
/// `serve` with `OUTREACH_IN_SERVE=false` beside it). Stops on
/// SIGINT/SIGTERM after the round in hand.
pub async fn outreach() -> Res {
    use secrecy::ExposeSecret;
    let config = Config::from_env()?;
    let pool = PgPoolOptions::new()
        .max_connections(config.db_max_connections)
        .connect(config.database_url())
        .await?;
    crate::startup::migrate(&pool).await?;
    domain::company::load_time_zone(&pool).await?;
    let cipher = domain::crypto::Cipher::from_encoded_key(config.secret_key.expose_secret())?;
    let (connector, _) = crate::startup::outreach_connector(&config);
    let services = domain::Services::new(
        pool,
        cipher,
        &config.public_url,
        domain::telegram::TelegramSettings {
            api_url: config.telegram_api_url.parse()?,
            webhook_base: None,
        },
        None,
    )
    .with_outreach(connector, config.outreach.settings, config.outreach.admin_ids.clone());
    let token = tokio_util::sync::CancellationToken::new();
    let workers = crate::workers::Workers::start_outreach(&services, config.outreach.bot_token.clone(), token.clone());
    tracing::info!("the outreach worker is running");
    crate::startup::shutdown_signal().await;
    workers.stop(std::time::Duration::from_secs(10)).await;
    tracing::info!("stopped");
    Ok(())
}

pub async fn migrate() -> Res {
    let pool = pool().await?;
    crate::startup::migrate(&pool).await?;
    println!("migrations applied");
    Ok(())
}

fn generated_password() -> String {
    const A: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..16).map(|_| A[rng.gen_range(0..A.len())] as char).collect()
}

/// `create-franchisee`: a franchisee company (a team) with its first user
/// and, optionally, a deposit recorded in the ledger.
pub async fn create_franchisee(
    email: &str,
    company: &str,
    name: &str,
    password: Option<String>,
    deposit: Option<&str>,
) -> Res {
    let pool = pool().await?;
    let deposit = match deposit {
        Some(d) => Some(domain::auction::parse_amount("deposit", d)?),
        None => None,
    };
    let generated = password.is_none();
    let password = password.unwrap_or_else(generated_password);
    let (team, _) = domain::auction::create_franchisee(
        &pool,
        domain::auction::NewFranchisee {
            email,
            full_name: name,
            company,
            password: &password,
            deposit,
        },
    )
    .await?;
    println!("franchisee created: {email} ({company}, id {team})");
    if generated {
        println!("password (shown once): {password}");
    }
    if let Some(d) = deposit {
        println!("deposit: {}", d.format());
    }
    Ok(())
}

pub async fn create_admin(email: &str, password: Option<String>, name: &str, if_none: bool) -> Res {
    let pool = pool().await?;
    let generated = password.is_none();
    let password = password.unwrap_or_else(generated_password);
    if if_none {
        if domain::accounts::ensure_first_admin(&pool, email, &password).await? {
            println!("first admin created: {email}");
            if generated {
                println!("password (shown once): {password}");
            }
        } else {
            println!("an admin exists already; nothing to do");
        }
        return Ok(());
    }
    domain::accounts::create_admin(&pool, email, &password, name).await?;
    println!("admin created: {email}");
    if generated {
        println!("password (shown once): {password}");
    }
    Ok(())
}

pub async fn create_token(email: &str, name: &str) -> Res {
    let pool = pool().await?;
    let t = domain::accounts::issue_token_for_email(&pool, email, name).await?;
    println!("{}", t.secret);
    Ok(())
}

pub async fn demo_data(leads: i64) -> Res {
    let pool = pool().await?;
    crate::startup::migrate(&pool).await?;
    let started = std::time::Instant::now();
    let s = domain::demo::fill(&pool, leads).await?;
    println!(
        "demo data: {} partners, {} franchisees, {} clients, {} leads in {:.1} s (demo users: demo1..demo6@mak-crm.local / demo-password)",
        s.partners,
        s.franchisees,
        s.clients,
        s.leads,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn import(what: &str, file: &std::path::Path, as_email: &str, on_duplicate: &str, json: bool) -> Res {
    use std::io::Read;
    if what != "leads" {
        return Err("only `leads` can be imported".into());
    }
    let pool = pool().await?;
    crate::startup::migrate(&pool).await?;
    let actor = domain::accounts::actor_by_email(&pool, as_email).await?;
    let started = std::time::Instant::now();
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("import.csv");
    let job = domain::imports::create_upload(&pool, &actor, name).await?;
    let mut f = std::fs::File::open(file)?;
    let mut buf = vec![0u8; domain::imports::CHUNK_BYTES];
    let mut seq = 0;
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            let n = f.read(&mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 && seq > 0 {
            break;
        }
        domain::imports::append_chunk(&pool, &actor, job, seq, &buf[..filled]).await?;
        seq += 1;
        if filled < buf.len() {
            break;
        }
    }
    let preview = domain::imports::preview(&pool, &actor, job, None, None, None).await?;
    domain::imports::start(
        &pool,
        &actor,
        job,
        domain::imports::StartInput {
            mapping: preview.mapping.clone(),
            on_duplicate: on_duplicate.into(),
            encoding: None,
            delimiter: None,
            sheet: None,
            consent_basis: None,
        },
    )
    .await?;
    // Run it here; if a server's worker claimed it first, wait for that.
    loop {
        domain::imports::run_once(&pool).await?;
        let s = domain::imports::status(&pool, &actor, job).await?;
        if matches!(s.status.as_str(), "done" | "failed" | "cancelled") {
            let secs = started.elapsed().as_secs_f64();
            let failed_rows = domain::imports::report_rows(&pool, &actor, job, 1000).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "job": job, "status": s.status, "rows": s.processed_rows, "created": s.created,
                        "updated": s.updated, "skipped": s.skipped, "failed": s.failed, "error": s.error,
                        "seconds": secs, "report": failed_rows,
                    })
                );
            } else {
                println!(
                    "import {}: {} rows in {:.1} s — created {}, updated {}, skipped (duplicates) {}, failed {}",
                    s.status, s.processed_rows, secs, s.created, s.updated, s.skipped, s.failed
                );
                for r in failed_rows.iter().take(20) {
                    println!("  row {}: {} — {}", r.row_number, r.outcome, r.reason);
                }
            }
            return if s.status == "done" {
                Ok(())
            } else {
                Err(s.error.unwrap_or(s.status).into())
            };
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}
