//! The `patient-auth` command line: `serve` (the default), and operator commands that replace
//! the Flask backend's REPL steps.

use std::io::{BufRead, IsTerminal};

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use service::mail::{Language, MailDelivery};
use service::{NewPatient, PatientRef, RegistrationForm, ServiceError};

use crate::audit_report;
use crate::settings::Settings;
use crate::startup::open_database;

/// patient-auth: registers patients, logs them in, serves their profile.
#[derive(Debug, Parser)]
#[command(name = "patient-auth", version, about)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Create a patient account; the password is asked for without echo, or read from stdin.
    CreatePatient(CreatePatient),
    /// Give a patient a doctor, a caregiver and a few prescriptions, to see a full profile.
    DemoData {
        /// The patient's email address.
        #[arg(long)]
        email: String,
    },
    /// Print a patient's audit trail, newest first.
    Audit(Audit),
    /// Remove every second factor of a patient who lost them all (after checking who they are);
    /// recorded in the audit trail as `mfa_reset`.
    MfaReset {
        /// The patient's email address.
        #[arg(long)]
        email: String,
    },
    /// Mail a patient who called support a link to choose a new password (the link is never
    /// printed: it goes only to the patient's address).
    SendPasswordReset {
        /// The patient's email address.
        #[arg(long)]
        email: String,
        /// The language of the message.
        #[arg(long, value_enum, default_value_t = MessageLanguage::En)]
        language: MessageLanguage,
    },
}

/// The languages of `send-password-reset`'s message.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MessageLanguage {
    /// English.
    En,
    /// Arabic.
    Ar,
}

/// Arguments of `audit`.
#[derive(Debug, Args)]
pub struct Audit {
    /// The patient's id (also after the patient was deleted) or email address.
    #[arg(long)]
    pub patient: String,
    /// At most this many events.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `create-patient`.
#[derive(Debug, Args)]
pub struct CreatePatient {
    /// Email address (stored lower-cased).
    #[arg(long)]
    pub email: String,
    /// Full name.
    #[arg(long)]
    pub name: String,
    /// Optional username.
    #[arg(long)]
    pub username: Option<String>,
    /// Read the password from the first line of standard input instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
}

/// Runs `create-patient`; returns what to print.
pub async fn create_patient(settings: Settings, args: CreatePatient) -> Result<String, String> {
    let password = read_password(args.password_stdin)?;
    let new_patient = NewPatient::parse(RegistrationForm {
        name: Some(args.name),
        email: Some(args.email),
        password: Some(password),
        username: args.username,
    })
    .map_err(|errors| {
        format!(
            "invalid input: {}",
            serde_json::to_string(&errors).unwrap_or_default()
        )
    })?;
    let db = open_database(&settings).await.map_err(|e| e.to_string())?;
    let auth = service::AuthService::new(settings.auth, std::sync::Arc::new(service::SystemClock))
        .map_err(|e| e.to_string())?;
    let patient = auth
        .create_patient(&db, new_patient)
        .await
        .map_err(describe)?;
    Ok(format!(
        "created patient {} <{}>",
        patient.patient_id, patient.email
    ))
}

/// Runs `demo-data`; returns what to print.
pub async fn demo_data(settings: Settings, email: &str) -> Result<String, String> {
    let db = open_database(&settings).await.map_err(|e| e.to_string())?;
    let profile = service::demo_data::add_demo_profile(&db, email)
        .await
        .map_err(describe)?;
    Ok(format!(
        "patient {} now has doctor {}, caregiver {} and {} prescriptions",
        profile.patient.patient_id,
        profile.doctor.map(|d| d.full_name).unwrap_or_default(),
        profile.caregiver.map(|c| c.full_name).unwrap_or_default(),
        profile.prescriptions.len()
    ))
}

/// Runs `audit`; returns what to print (nothing for an empty trail in JSON).
pub async fn audit(settings: Settings, args: Audit) -> Result<String, String> {
    let patient = PatientRef::parse(&args.patient);
    let db = open_database(&settings).await.map_err(|e| e.to_string())?;
    let events = service::audit::trail(&db, &patient, args.limit)
        .await
        .map_err(|error| match error {
            ServiceError::PatientNotFound => format!("no patient with {patient}"),
            other => describe(other),
        })?;
    Ok(if args.json {
        audit_report::json_lines(&events)
    } else if events.is_empty() {
        format!("patient with {patient} has no recorded events")
    } else {
        audit_report::table(&events)
    })
}

/// Runs `send-password-reset`: queues the link, recorded in the audit trail like a request from
/// the app, then delivers what is due (a running server would deliver it too).
pub async fn send_password_reset(
    settings: Settings,
    email: &str,
    language: MessageLanguage,
) -> Result<String, String> {
    let email = service::validation::parse_email(Some(email)).map_err(|errors| {
        format!(
            "invalid input: {}",
            serde_json::to_string(&errors).unwrap_or_default()
        )
    })?;
    let db = open_database(&settings).await.map_err(|e| e.to_string())?;
    let clock: std::sync::Arc<dyn service::Clock> = std::sync::Arc::new(service::SystemClock);
    let auth = service::AuthService::new(settings.auth, std::sync::Arc::clone(&clock))
        .map_err(|e| e.to_string())?;
    let language = match language {
        MessageLanguage::En => Language::English,
        MessageLanguage::Ar => Language::Arabic,
    };
    let operator = service::ClientInfo::new(Some("patient-auth send-password-reset"), None)
        .with_language(language);
    if !auth
        .send_password_reset(&db, &email, &operator)
        .await
        .map_err(describe)?
    {
        return Err(format!("no patient with email {email}"));
    }
    let delivery = MailDelivery::new(
        db.clone(),
        settings.mail.transport.clone(),
        auth.mailer().identity().from.email.clone(),
        clock,
        settings.mail.delivery.clone(),
    );
    let report = delivery.deliver_due().await.map_err(|e| e.to_string())?;
    Ok(if report.sent > 0 {
        format!(
            "a password-reset link was sent to {email} through {}",
            settings.mail.transport.describe()
        )
    } else {
        format!(
            "a password-reset link to {email} is queued; it could not be delivered yet and is \
             retried by the running server (see its log)"
        )
    })
}

/// Runs `mfa-reset`; returns what to print.
pub async fn mfa_reset(settings: Settings, email: &str) -> Result<String, String> {
    let db = open_database(&settings).await.map_err(|e| e.to_string())?;
    let auth = service::AuthService::new(settings.auth, std::sync::Arc::new(service::SystemClock))
        .map_err(|e| e.to_string())?;
    let patient_id = auth
        .reset_mfa(&db, email)
        .await
        .map_err(|error| match error {
            ServiceError::PatientNotFound => format!("no patient with email {email}"),
            other => describe(other),
        })?;
    Ok(format!(
        "patient {patient_id}: every second factor removed; they sign in with the password alone until they set one up again"
    ))
}

fn describe(error: ServiceError) -> String {
    match error {
        ServiceError::Validation(errors) => format!(
            "invalid input: {}",
            serde_json::to_string(&errors).unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

fn read_password(from_stdin: bool) -> Result<SecretString, String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("reading the password from stdin: {e}"))?;
        let password = line
            .strip_suffix('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .unwrap_or(&line);
        return Ok(SecretString::from(password.to_owned()));
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            "no terminal to ask for the password: pass --password-stdin and pipe it in".into(),
        );
    }
    let first = rpassword::prompt_password("Password: ")
        .map_err(|e| format!("reading the password: {e}"))?;
    let second = rpassword::prompt_password("Repeat password: ")
        .map_err(|e| format!("reading the password: {e}"))?;
    if first != second {
        return Err("the two passwords differ".into());
    }
    Ok(SecretString::from(first))
}
