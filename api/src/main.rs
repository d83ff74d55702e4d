//! `patient-auth`: the server binary and its operator commands.

use std::process::ExitCode;

use api::cli::{self, Cli, Command};
use api::logging;
use api::settings::{LogFormat, Settings};
use api::startup::Application;
use clap::Parser;
use database::SettingsSources;

/// mimalloc rather than glibc's malloc: request handling allocates many small, short-lived objects
/// across threads, where glibc spent ~17% of the server's CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(&SettingsSources::from_process()) {
        Ok(settings) => settings,
        Err(error) => {
            // The format setting may be what failed; a person is reading this one.
            logging::init(LogFormat::Text);
            log::error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    logging::init(settings.log_format);
    for warning in &settings.warnings {
        log::warn!("{warning}");
    }
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::CreatePatient(args) => cli::create_patient(settings, args)
            .await
            .map(|out| println!("{out}")),
        Command::DemoData { email } => cli::demo_data(settings, &email)
            .await
            .map(|out| println!("{out}")),
        Command::SendPasswordReset { email, language } => {
            cli::send_password_reset(settings, &email, language)
                .await
                .map(|out| println!("{out}"))
        }
        Command::MfaReset { email } => cli::mfa_reset(settings, &email)
            .await
            .map(|out| println!("{out}")),
        Command::Audit(args) => cli::audit(settings, args).await.map(|out| {
            if !out.is_empty() {
                println!("{out}");
            }
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            log::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<(), String> {
    let host = settings.host.clone();
    let app = Application::build(settings)
        .await
        .map_err(|e| e.to_string())?;
    log::info!("patient-auth listening on http://{host}:{}", app.port());
    app.run_until_stopped()
        .await
        .map_err(|e| format!("server stopped: {e}"))
}
