//! `migration`: the schema ops binary. Reads `DATABASE_URL` exactly as the server does
//! (config files, `.env`, environment) and applies, reverts or lists migrations.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use database::{connect, settings_sources, DatabaseUrl, PoolSettings, SettingsSources};
use migration::TakeoverStatus;

#[derive(Parser)]
#[command(
    name = "migration",
    about = "Apply, revert or list patient-auth schema migrations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations (all, or the next N).
    Up {
        /// How many to apply.
        #[arg(short = 'n', long)]
        steps: Option<u32>,
    },
    /// Revert the last N applied migrations (default 1). Drops tables and the data in them.
    Down {
        /// How many to revert.
        #[arg(short = 'n', long, default_value_t = 1)]
        steps: u32,
        /// Confirm that the tables and their patient data may be dropped.
        #[arg(long)]
        yes: bool,
    },
    /// List every migration and whether it is applied.
    Status,
    /// Revert every migration, then apply them all again. Destroys all data.
    Fresh {
        /// Confirm that every table and all patient data may be dropped.
        #[arg(long)]
        yes: bool,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("migration: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let url = database_url()?;
    if let Command::Down { yes: false, .. } | Command::Fresh { yes: false } = cli.command {
        return Err(format!(
            "this drops tables and the patient data in them on {url}; add --yes to confirm"
        ));
    }
    let db = connect(&url, &PoolSettings::default())
        .await
        .map_err(|e| e.to_string())?;
    let outcome = match cli.command {
        Command::Up { steps } => migration::up(&db, steps).await,
        Command::Down { steps, .. } => migration::down(&db, Some(steps)).await.map_err(Into::into),
        // Reverting through each migration's `down` drops tables in dependency order, which
        // SQLite with foreign keys on requires (sea-orm's own `fresh` does not).
        Command::Fresh { .. } => migration::refresh(&db).await.map_err(Into::into),
        Command::Status => print_status(&db).await,
    };
    outcome.map_err(|e| format!("on {url}: {e}"))
}

/// Every migration, applied or pending, then where the database stands with a Flask take-over.
async fn print_status(db: &database::Db) -> Result<(), migration::MigrationError> {
    for (name, applied) in migration::status(db).await? {
        println!("{:8} {name}", if applied { "applied" } else { "pending" });
    }
    match migration::takeover::status(db).await? {
        TakeoverStatus::NotApplicable => {}
        TakeoverStatus::Done(record) => println!(
            "taken over: the tables the {} backend created, on {} ({})",
            record.source,
            record.taken_over_at.format("%Y-%m-%d %H:%M:%S UTC"),
            record.summary
        ),
        TakeoverStatus::Pending(problems) if problems.is_empty() => println!(
            "to take over: the contract tables were created by the Flask backend; `up` brings \
             them to this schema and keeps every row"
        ),
        TakeoverStatus::Pending(problems) => {
            println!(
                "to take over: the contract tables were created by the Flask backend, but `up` \
                 will refuse until these are mended:"
            );
            for problem in problems {
                println!("  - {problem}");
            }
        }
    }
    Ok(())
}

fn database_url() -> Result<DatabaseUrl, String> {
    let raw = settings_sources(&SettingsSources::from_process())
        .and_then(|builder| builder.build())
        .and_then(|config| config.get_string("database_url"))
        .map_err(|e| format!("reading settings: {e}"))?;
    DatabaseUrl::parse(&raw).map_err(|e| e.to_string())
}
