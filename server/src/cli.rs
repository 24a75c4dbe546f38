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

pub async fn migrate() -> Res {
    let pool = pool().await?;
    crate::startup::migrate(&pool).await?;
    println!("migrations applied");
    Ok(())
}

pub async fn create_admin(email: &str, password: Option<String>, name: &str, if_none: bool) -> Res {
    let pool = pool().await?;
    let generated = password.is_none();
    let password = password.unwrap_or_else(|| {
        const A: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut rng = rand::thread_rng();
        (0..16).map(|_| A[rng.gen_range(0..A.len())] as char).collect()
    });
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
