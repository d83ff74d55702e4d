//! Taking over a database the Flask backend created, on every engine. Each test loads the
//! fixture of the Flask schema and rows for its engine (`migration/tests/fixtures/flask`,
//! generated from the Flask peer by `generate.py` there), then starts patient-auth on it.

use std::path::PathBuf;

use database::Db;
use migration::takeover::Problem;
use migration::{MigrationError, TakeoverStatus};
use sea_orm::{ConnectionTrait, Statement};
use serde::Deserialize;
use serde_json::json;

use crate::helpers::{operator_sql, spawn_app_on, test_settings, Backend, TestDatabase};

/// One Flask patient of the fixture, with the password it was registered with.
#[derive(Debug, Deserialize)]
struct FlaskPatient {
    patient_id: i64,
    email: String,
    password: String,
    username: Option<String>,
    doctor_id: Option<i64>,
    caregiver_id: Option<i64>,
    prescription_ids: Vec<i64>,
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migration/tests/fixtures/flask")
}

fn flask_patients() -> Vec<FlaskPatient> {
    let text = std::fs::read_to_string(fixture_dir().join("patients.json")).expect("patients.json");
    serde_json::from_str(&text).expect("patients.json parses")
}

/// The statements of a fixture file: each ends with a line holding only `;`.
fn fixture_statements(backend: Backend) -> Vec<String> {
    let file = match backend {
        Backend::Sqlite => "flask_sqlite.sql",
        Backend::Postgres => "flask_postgres.sql",
        Backend::MariaDb => "flask_mysql.sql",
        Backend::MsSql => "flask_mssql.sql",
    };
    let text = std::fs::read_to_string(fixture_dir().join(file)).expect("fixture file");
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.trim() == ";" {
            if !current.trim().is_empty() {
                statements.push(std::mem::take(&mut current));
            }
            current.clear();
        } else if !(current.trim().is_empty() && line.starts_with("--")) {
            current.push_str(line);
            current.push('\n');
        }
    }
    assert!(
        current.trim().is_empty(),
        "{file}: text after the last statement"
    );
    statements
}

async fn count(db: &Db, sql: &str) -> i64 {
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index::<i64>(0)
        .or_else(|_| row.try_get_by_index::<i32>(0).map(i64::from))
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

/// A fresh database holding what the Flask backend left: its tables and rows.
async fn flask_database(backend: Backend) -> Option<(TestDatabase, Db)> {
    let database = TestDatabase::create(backend).await?;
    let db = database.connect().await;
    for statement in fixture_statements(backend) {
        operator_sql(&db, backend, &statement).await;
    }
    Some((database, db))
}

async fn flask_patients_log_in_and_see_their_profiles_after_the_take_over(backend: Backend) {
    let Some((database, _)) = flask_database(backend).await else {
        return;
    };
    let app = spawn_app_on(database).await;
    assert_eq!(migration::pending(&app.db).await.expect("status"), 0);

    for patient in flask_patients() {
        let login = app.login(&patient.email, &patient.password).await;
        assert_eq!(login.status, 200, "{}: {}", patient.email, login.text);
        let stored_hash = app
            .sql_text(&format!(
                "SELECT password_hash FROM patients WHERE patient_id = {}",
                patient.patient_id
            ))
            .await;
        assert!(
            stored_hash.starts_with("$argon2id$"),
            "the bcrypt hash is upgraded on the first login"
        );
        let token = login.body["token"].as_str().expect("token");
        let me = app.get_with_token("/auth/me", token).await;
        assert_eq!(me.status, 200, "{}", me.text);
        assert_eq!(me.body["patient_id"], json!(patient.patient_id));
        assert_eq!(me.body["email"], json!(patient.email.trim().to_lowercase()));
        assert_eq!(me.body["username"], json!(patient.username));
        assert_eq!(
            me.body["email_verified"],
            json!(false),
            "a Flask account starts unverified"
        );
        assert_eq!(me.body["doctor"]["doctor_id"].as_i64(), patient.doctor_id);
        assert_eq!(
            me.body["caregiver"]["caregiver_id"].as_i64(),
            patient.caregiver_id
        );
        let prescriptions: Vec<i64> = me.body["prescriptions"]
            .as_array()
            .expect("prescriptions")
            .iter()
            .filter_map(|p| p["prescription_id"].as_i64())
            .collect();
        assert_eq!(prescriptions, patient.prescription_ids, "{}", me.text);
        // A second login takes the argon2id path.
        let again = app.login(&patient.email, &patient.password).await;
        assert_eq!(again.status, 200);
        let wrong = app.login(&patient.email, "not-the-password").await;
        assert_eq!(wrong.status, 401);
    }

    // Emails were stored as Flask received them: the mixed-case one still logs in as typed.
    let mixed = flask_patients()
        .into_iter()
        .find(|p| p.email != p.email.to_lowercase())
        .expect("the fixture has a mixed-case email");
    assert_eq!(app.login(&mixed.email, &mixed.password).await.status, 200);

    // Our rules hold on the taken-over tables: ids continue, usernames are unique regardless
    // of case, any number of patients may have no username.
    let highest = flask_patients()
        .iter()
        .map(|p| p.patient_id)
        .max()
        .expect("patients");
    let new = app
        .register(
            "New Patient",
            "new.patient@example.com",
            "a-new-patient-pass",
        )
        .await;
    assert_eq!(
        new.status, 201,
        "a second patient without a username registers: {}",
        new.text
    );
    assert_eq!(new.body["patient"]["patient_id"], json!(highest + 1));
    let taken = app
        .post_json(
            "/auth/register",
            &json!({"name": "X", "email": "x@example.com", "password": "a-new-patient-pass",
                    "username": "PATIENT1"}),
        )
        .await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    assert_eq!(taken.error(), "username_taken");
    let email_taken = app
        .register("Y", "AHMED@EXAMPLE.COM", "a-new-patient-pass")
        .await;
    assert_eq!(email_taken.error(), "email_taken");

    // An operator's row with only the required columns takes the UTC defaults.
    operator_sql(
        &app.db,
        backend,
        "INSERT INTO prescriptions (patient_id, medication, start_date) VALUES (5, 'Vitamin D', '2026-12-01')",
    )
    .await;
    let hany = app.login("hany@example.com", "flask-pass-five").await;
    let me = app
        .get_with_token("/auth/me", hany.body["token"].as_str().expect("token"))
        .await;
    assert_eq!(
        me.body["prescriptions"][0]["medication"],
        json!("Vitamin D")
    );

    match migration::takeover::status(&app.db).await.expect("status") {
        TakeoverStatus::Done(record) => {
            assert_eq!(record.source, "flask");
            assert_eq!(
                record.summary,
                "3 doctors, 2 caregivers, 5 patients, 5 prescriptions"
            );
        }
        other => panic!("expected a recorded take-over, got {other:?}"),
    }
    assert_eq!(
        count(
            &app.db,
            "SELECT COUNT(*) FROM doctors WHERE doctor_id IN (1, 2, 3)"
        )
        .await,
        3
    );
}

async fn flask_timestamps_and_text_are_carried_over(backend: Backend) {
    let Some((database, _)) = flask_database(backend).await else {
        return;
    };
    let app = spawn_app_on(database).await;
    let ahmed = app.login("ahmed@example.com", "flask-pass-one").await;
    assert_eq!(ahmed.status, 200, "{}", ahmed.text);
    // The naive DATETIME Flask wrote with utcnow() is read as UTC.
    let created = ahmed.body["patient"]["created_at"]
        .as_str()
        .expect("created_at");
    let fixture_created = fixture_created_at(backend, 1);
    assert_eq!(created, fixture_created, "{}", ahmed.text);
    if backend != Backend::MsSql {
        // SQL Server's Flask tables are VARCHAR: Arabic was lost there before the take-over.
        let sara = app.login("sara@example.com", "flask-pass-four").await;
        assert_eq!(sara.body["patient"]["name"], json!("سارة محمود"));
    }
}

/// The created_at the fixture gives a patient, as the API writes it.
fn fixture_created_at(backend: Backend, patient_id: i64) -> String {
    let statements = fixture_statements(backend);
    let insert = statements
        .iter()
        .find(|s| s.contains("INSERT INTO patients") && s.contains(&format!("({patient_id}, ")))
        .unwrap_or_else(|| panic!("no INSERT of patient {patient_id}"));
    let stamp = insert
        .split('\'')
        .find(|part| {
            let bytes = part.as_bytes();
            part.len() >= 19 && bytes[4] == b'-' && matches!(bytes[10], b' ' | b'T')
        })
        .expect("a timestamp literal");
    format!("{}Z", stamp[..19].replace(' ', "T"))
}

async fn rows_that_break_our_rules_stop_the_take_over_before_anything_changes(backend: Backend) {
    let Some((database, db)) = flask_database(backend).await else {
        return;
    };
    // What Flask's schema let through depends on the engine: SQLite and PostgreSQL compared
    // emails and usernames case-sensitively, MariaDB and SQL Server did not, but every engine
    // took an empty email.
    let (breaking_row, expected) = match backend {
        Backend::Sqlite | Backend::Postgres => (
            "INSERT INTO patients (patient_id, full_name, email, password_hash, username) \
             VALUES (41, 'Ahmed Again', 'AHMED@example.com ', 'x', 'PATIENT1')",
            vec![
                Problem::DuplicateEmails {
                    groups: vec![vec![1, 41]],
                },
                Problem::DuplicateUsernames {
                    groups: vec![vec![1, 41]],
                },
            ],
        ),
        Backend::MariaDb | Backend::MsSql => (
            "INSERT INTO patients (patient_id, full_name, email, password_hash, username) \
             VALUES (41, 'No Address', '', 'x', 'no.address')",
            vec![Problem::MissingValues {
                table: "patients",
                column: "email",
                ids: vec![41],
            }],
        ),
    };
    let breaking_row = if backend == Backend::MsSql {
        format!("SET IDENTITY_INSERT patients ON; {breaking_row}; SET IDENTITY_INSERT patients OFF")
    } else {
        breaking_row.to_owned()
    };
    operator_sql(&db, backend, &breaking_row).await;

    let settings = test_settings(&database.url, &[]);
    let refusal = match api::startup::open_database(&settings).await {
        Err(api::startup::StartupError::Migrate(MigrationError::TakeoverRefused(refusal))) => {
            refusal
        }
        other => panic!("expected the take-over to be refused, got {other:?}"),
    };
    assert_eq!(refusal.problems, expected, "{refusal}");
    let message = refusal.to_string();
    assert!(message.contains("41"), "{message}");
    assert!(
        !message.contains("ahmed@example.com") && !message.contains("PATIENT1"),
        "the report names rows by id, not by their patient data: {message}"
    );

    // Nothing changed: the Flask rows are as they were, nothing of ours exists.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM patients").await, 6);
    let tables = migration::takeover::table_names(&db).await.expect("tables");
    for ours in [
        "seaql_migrations",
        "schema_takeover",
        "auth_sessions",
        "flask_patients",
    ] {
        assert!(
            !tables.contains(&ours.to_owned()),
            "{ours} was created: {tables:?}"
        );
    }
    match migration::takeover::status(&db).await.expect("status") {
        TakeoverStatus::Pending(problems) => assert_eq!(problems, expected),
        other => panic!("expected a pending take-over, got {other:?}"),
    }

    // Mended, the take-over goes through.
    operator_sql(&db, backend, "DELETE FROM patients WHERE patient_id = 41").await;
    migration::up(&db, None).await.expect("up after the mend");
    assert_eq!(migration::pending(&db).await.expect("status"), 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM patients").await, 5);
}

macro_rules! on_every_engine {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(crate::helpers::Backend::Sqlite).await; } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::$name(crate::helpers::Backend::Postgres).await; } )* }
        mod mariadb { $( #[tokio::test] async fn $name() { super::$name(crate::helpers::Backend::MariaDb).await; } )* }
        /// SQL Server runs only where one exists: `MSSQL_URL=… cargo test -- --include-ignored`.
        mod mssql {
            $(
                #[tokio::test]
                #[ignore = "needs a SQL Server: set MSSQL_URL and pass --include-ignored"]
                async fn $name() { super::$name(crate::helpers::Backend::MsSql).await; }
            )*
        }
    };
}

on_every_engine!(
    flask_patients_log_in_and_see_their_profiles_after_the_take_over,
    flask_timestamps_and_text_are_carried_over,
    rows_that_break_our_rules_stop_the_take_over_before_anything_changes,
);
