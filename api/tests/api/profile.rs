//! `GET /auth/me`: the profile with doctor, caregiver and prescriptions.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_every_database;

async fn a_new_patient_has_an_empty_profile(app: TestApp) {
    let (token, id) = app.registered("empty@example.com").await;
    let reply = app.get_with_token("/auth/me", &token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), "no-store");
    assert_eq!(reply.body["patient_id"], id);
    assert_eq!(reply.body["doctor"], Value::Null);
    assert_eq!(reply.body["caregiver"], Value::Null);
    assert_eq!(reply.body["prescriptions"], json!([]));
    for secret in ["password", "password_hash", "token", "refresh_token"] {
        assert!(
            reply.body.get(secret).is_none(),
            "{secret} in {}",
            reply.text
        );
    }
}

async fn rows_inserted_by_hand_with_only_required_columns_appear_in_the_profile(app: TestApp) {
    let (token, id) = app.registered("full@example.com").await;
    app.sql("INSERT INTO doctors (full_name, specialty, email, phone) VALUES ('Dr. Sara Hassan', 'Cardiology', 'sara@clinic.example', '+20 2 555')").await;
    app.sql("INSERT INTO caregivers (full_name, relationship) VALUES ('Omar Ali', 'son')")
        .await;
    app.sql(&format!("UPDATE patients SET doctor_id = (SELECT MAX(doctor_id) FROM doctors), caregiver_id = (SELECT MAX(caregiver_id) FROM caregivers), phone = '+20 100', date_of_birth = '1950-03-01' WHERE patient_id = {id}")).await;
    app.sql(&format!("INSERT INTO prescriptions (patient_id, medication, start_date) VALUES ({id}, 'Aspirin', '2026-01-15')")).await;
    app.sql(&format!("INSERT INTO prescriptions (patient_id, medication, dosage, frequency, start_date, end_date, notes, doctor_id) VALUES ({id}, 'Metformin', '500 mg', 'twice daily', '2026-10-01', NULL, 'with meals', (SELECT MAX(doctor_id) FROM doctors))")).await;
    app.sql(&format!("INSERT INTO prescriptions (patient_id, medication, start_date, end_date) VALUES ({id}, 'Amoxicillin', '2025-06-01', '2025-06-10')")).await;

    let reply = app.get_with_token("/auth/me", &token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = &reply.body;
    assert_eq!(body["phone"], "+20 100");
    assert_eq!(body["date_of_birth"], "1950-03-01");
    assert_eq!(body["doctor"]["name"], "Dr. Sara Hassan");
    assert_eq!(body["doctor"]["specialty"], "Cardiology");
    assert!(body["doctor"]["doctor_id"].is_i64());
    assert_eq!(body["caregiver"]["name"], "Omar Ali");
    assert_eq!(body["caregiver"]["relationship"], "son");
    assert_eq!(body["caregiver"]["email"], Value::Null);
    let medications: Vec<&str> = body["prescriptions"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|p| p["medication"].as_str())
        .collect();
    assert_eq!(
        medications,
        ["Metformin", "Aspirin", "Amoxicillin"],
        "newest start_date first"
    );
    let metformin = &body["prescriptions"][0];
    assert_eq!(metformin["start_date"], "2026-10-01");
    assert_eq!(metformin["end_date"], Value::Null);
    assert_eq!(metformin["notes"], "with meals");
    assert_eq!(metformin["doctor_id"], body["doctor"]["doctor_id"]);
    assert_eq!(body["prescriptions"][2]["end_date"], "2025-06-10");
    // The database filled created_at on rows inserted without it, in a form the service reads.
    let created = app
        .sql_count("SELECT COUNT(*) FROM prescriptions WHERE created_at IS NOT NULL")
        .await;
    assert_eq!(created, 3);
}

async fn a_profile_read_while_prescriptions_are_inserted_by_sql_never_fails(app: TestApp) {
    let (token, id) = app.registered("busy@example.com").await;
    let writer_db = app.db.clone();
    let writer = tokio::spawn(async move {
        use sea_orm::ConnectionTrait;
        for day in 1..=60 {
            let sql = format!("INSERT INTO prescriptions (patient_id, medication, start_date) VALUES ({id}, 'Drug {day}', '2026-{:02}-{:02}')", 1 + day % 12, 1 + day % 28);
            writer_db.execute_unprepared(&sql).await.expect("insert");
        }
    });
    let mut last_count = 0;
    while !writer.is_finished() {
        let reply = app.get_with_token("/auth/me", &token).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let prescriptions = reply.body["prescriptions"].as_array().expect("array");
        assert!(
            prescriptions.len() >= last_count,
            "prescriptions never disappear"
        );
        last_count = prescriptions.len();
        let dates: Vec<&str> = prescriptions
            .iter()
            .filter_map(|p| p["start_date"].as_str())
            .collect();
        assert!(
            dates.windows(2).all(|w| w[0] >= w[1]),
            "newest first: {dates:?}"
        );
    }
    writer.await.expect("writer finished");
    let reply = app.get_with_token("/auth/me", &token).await;
    assert_eq!(
        reply.body["prescriptions"].as_array().map(Vec::len),
        Some(60)
    );
}

async fn another_patients_prescriptions_are_never_shown(app: TestApp) {
    let (token_a, _) = app.registered("a@example.com").await;
    let (_, id_b) = app.registered("b@example.com").await;
    app.sql(&format!("INSERT INTO prescriptions (patient_id, medication, start_date) VALUES ({id_b}, 'Private', '2026-01-01')")).await;
    let reply = app.get_with_token("/auth/me", &token_a).await;
    assert_eq!(reply.body["prescriptions"], json!([]));
}

on_every_database!(
    a_new_patient_has_an_empty_profile,
    rows_inserted_by_hand_with_only_required_columns_appear_in_the_profile,
    a_profile_read_while_prescriptions_are_inserted_by_sql_never_fails,
    another_patients_prescriptions_are_never_shown,
);
