use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "mak-crm", about = "MaK CRM server and operator commands")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app (default).
    Serve,
    /// Apply database migrations.
    Migrate,
    /// Run only the outreach worker (sales messages from Telegram user
    /// accounts), apart from `serve` (set `OUTREACH_IN_SERVE=false` there).
    Outreach,
    /// Create an administrator.
    CreateAdmin {
        #[arg(long, env = "ADMIN_EMAIL")]
        email: String,
        /// Generated and printed once when omitted.
        #[arg(long, env = "ADMIN_PASSWORD")]
        password: Option<String>,
        #[arg(long, default_value = "Администратор")]
        name: String,
        /// Do nothing when an admin exists already.
        #[arg(long)]
        if_none: bool,
    },
    /// Import leads from a CSV or XLSX file, with duplicate control.
    Import {
        /// What to import: `leads`.
        what: String,
        file: std::path::PathBuf,
        /// The user the import runs as (their rights and ownership).
        #[arg(long = "as")]
        as_email: String,
        #[arg(long, default_value = "skip", value_parser = ["skip", "update", "create"])]
        on_duplicate: String,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Fill an empty database with realistic demo data.
    DemoData {
        #[arg(long, default_value_t = 1000)]
        leads: i64,
    },
    /// Create a franchisee company with its first user (and a deposit).
    CreateFranchisee {
        #[arg(long)]
        email: String,
        #[arg(long)]
        company: String,
        /// The person's name.
        #[arg(long, default_value = "Франчайзи")]
        name: String,
        /// Generated and printed once when omitted.
        #[arg(long)]
        password: Option<String>,
        /// An initial deposit in rubles.
        #[arg(long)]
        deposit: Option<String>,
    },
    /// Print the API's OpenAPI 3.1 document (what `/api/v1/openapi.json` serves).
    Openapi,
    /// Issue a personal API token for a user; printed once.
    CreateToken {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "CLI")]
        name: String,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = dotenvy::dotenv();
    server::telemetry::init(server::config::log_json(), server::config::log_file().as_deref());
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::cli::serve().await,
        Command::Migrate => server::cli::migrate().await,
        Command::Outreach => server::cli::outreach().await,
        Command::CreateAdmin {
            email,
            password,
            name,
            if_none,
        } => server::cli::create_admin(&email, password, &name, if_none).await,
        Command::CreateToken { email, name } => server::cli::create_token(&email, &name).await,
        Command::Openapi => {
            println!(
                "{}",
                server::routes::openapi::document().to_pretty_json().unwrap_or_default()
            );
            Ok(())
        }
        Command::DemoData { leads } => server::cli::demo_data(leads).await,
        Command::CreateFranchisee {
            email,
            company,
            name,
            password,
            deposit,
        } => server::cli::create_franchisee(&email, &company, &name, password, deposit.as_deref()).await,
        Command::Import {
            what,
            file,
            as_email,
            on_duplicate,
            json,
        } => server::cli::import(&what, &file, &as_email, &on_duplicate, json).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mak-crm: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
