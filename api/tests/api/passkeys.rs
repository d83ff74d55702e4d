//! Passkeys over HTTP, on every database, with a software authenticator: adding one (with the
//! password), the login's second step by passkey, signing in with a passkey alone, another
//! origin or site refused, each ceremony once, removing one, and hostile input.

use serde_json::{json, Value};

use crate::authenticator::SoftPasskey;
use crate::helpers::{Reply, TestApp, PASSWORD};
use crate::on_every_database;

/// The page origin the server's default settings allow (the example app's).
const ORIGIN: &str = "http://localhost:5173";

async fn post_auth(app: &TestApp, path: &str, token: &str, body: Value) -> Reply {
    app.send(
        app.client
            .post(format!("{}{path}", app.address))
            .bearer_auth(token)
            .json(&body),
    )
    .await
}

/// Creation options for the caller (with the password).
async fn creation_options(app: &TestApp, token: &str, passwordless: bool) -> (String, Value) {
    let reply = post_auth(
        app,
        "/auth/passkeys/register/options",
        token,
        json!({"password": PASSWORD, "passwordless": passwordless}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    (
        reply.body["ceremony_token"]
            .as_str()
            .expect("ceremony_token")
            .to_owned(),
        reply.body["options"].clone(),
    )
}

/// Adds a new software passkey to the caller's account; returns it and the server's answer.
pub(crate) async fn add_passkey(
    app: &TestApp,
    token: &str,
    passwordless: bool,
) -> (SoftPasskey, Reply) {
    let (ceremony, options) = creation_options(app, token, passwordless).await;
    let (passkey, credential) = SoftPasskey::create(&options, ORIGIN);
    let reply = post_auth(
        app,
        "/auth/passkeys/register",
        token,
        json!({"ceremony_token": ceremony, "name": "Laptop", "credential": credential}),
    )
    .await;
    (passkey, reply)
}

/// `(ceremony_token, options)` of a request-options answer.
fn ceremony_of(reply: &Reply) -> (String, Value) {
    assert_eq!(reply.status, 200, "{}", reply.text);
    (
        reply.body["ceremony_token"]
            .as_str()
            .expect("ceremony_token")
            .to_owned(),
        reply.body["options"].clone(),
    )
}

/// The password step of a login with a factor on: its `mfa_token` and methods.
async fn password_step(app: &TestApp, email: &str) -> (String, Value) {
    let login = app.login(email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["mfa_required"], json!(true), "{}", login.text);
    (
        login.body["mfa_token"]
            .as_str()
            .expect("mfa_token")
            .to_owned(),
        login.body["methods"].clone(),
    )
}

/// The `amr` claim of an access token (read without checking; the server checked it).
fn amr(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    serde_json::from_slice::<Value>(&bytes).expect("json")["amr"].clone()
}

async fn a_passkey_is_added_with_the_password_and_listed(app: TestApp) {
    let (token, _) = app.registered("keys@example.com").await;
    let no_password = post_auth(&app, "/auth/passkeys/register/options", &token, json!({})).await;
    assert_eq!(no_password.status, 422, "{}", no_password.text);
    assert_eq!(no_password.body["fields"]["password"], "is required");
    let wrong = post_auth(
        &app,
        "/auth/passkeys/register/options",
        &token,
        json!({"password": "not-the-password"}),
    )
    .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert_eq!(wrong.body["error"], "invalid_credentials");

    let (ceremony, options) = creation_options(&app, &token, false).await;
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    let (passkey, credential) = SoftPasskey::create(&options, ORIGIN);
    let added = post_auth(
        &app,
        "/auth/passkeys/register",
        &token,
        json!({"ceremony_token": ceremony, "name": "  Laptop  ", "credential": credential}),
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.body["passkey"]["name"], "Laptop");
    assert_eq!(added.body["passkey"]["passwordless"], false);
    assert!(added.body["passkey"]["last_used_at"].is_null());
    let codes = added.body["recovery_codes"]
        .as_array()
        .expect("first factor: codes");
    assert_eq!(codes.len(), 10);

    // The same ceremony answers once.
    let again = post_auth(
        &app,
        "/auth/passkeys/register",
        &token,
        json!({"ceremony_token": ceremony, "credential": credential}),
    )
    .await;
    assert_eq!(again.status, 422, "{}", again.text);
    assert!(again.body["fields"]["ceremony_token"].is_string());

    // The same credential cannot be registered twice: the browser is told which passkeys the
    // account has, and the server refuses them here and on any other account.
    let (ceremony, options) = creation_options(&app, &token, false).await;
    assert_eq!(
        options["publicKey"]["excludeCredentials"][0]["id"],
        json!(credential["id"])
    );
    let twice = post_auth(
        &app,
        "/auth/passkeys/register",
        &token,
        json!({"ceremony_token": ceremony, "credential": passkey.attest(&options, ORIGIN)}),
    )
    .await;
    assert_eq!(twice.status, 422, "{}", twice.text);
    let (other, _) = app.registered("keys-elsewhere@example.com").await;
    let (ceremony, options) = creation_options(&app, &other, false).await;
    let elsewhere = post_auth(
        &app,
        "/auth/passkeys/register",
        &other,
        json!({"ceremony_token": ceremony, "credential": passkey.attest(&options, ORIGIN)}),
    )
    .await;
    assert_eq!(elsewhere.status, 409, "{}", elsewhere.text);
    assert_eq!(elsewhere.body["error"], "passkey_already_registered");
    app.clock.advance(chrono::Duration::seconds(1));
    let (ceremony, options) = creation_options(&app, &token, true).await;
    let (_, credential) = SoftPasskey::create(&options, ORIGIN);
    let second = post_auth(
        &app,
        "/auth/passkeys/register",
        &token,
        json!({"ceremony_token": ceremony, "credential": credential}),
    )
    .await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert!(
        second.body.get("recovery_codes").is_none(),
        "{}",
        second.text
    );

    let listed = app.get_with_token("/auth/passkeys", &token).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let names: Vec<_> = listed.body["passkeys"]
        .as_array()
        .expect("list")
        .iter()
        .map(|p| (p["name"].clone(), p["passwordless"].clone()))
        .collect();
    assert_eq!(
        names,
        vec![
            (json!("Laptop"), json!(false)),
            (json!("Passkey"), json!(true))
        ]
    );
    let not_on = post_auth(
        &app,
        "/auth/mfa/totp/disable",
        &token,
        json!({"password": PASSWORD, "recovery_code": codes[0]}),
    )
    .await;
    assert_eq!(not_on.status, 409, "no codes to turn off: {}", not_on.text);
    let status = app.get_with_token("/auth/mfa", &token).await;
    assert_eq!(status.body["passkeys"], 2, "{}", status.text);
    assert_eq!(status.body["totp"], false);
    assert_eq!(status.body["recovery_codes_left"], 10);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM audit_events WHERE event = 'passkey_added'")
            .await,
        2
    );
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'passkey_added' \
             AND recipient = 'keys@example.com'"
        )
        .await,
        2,
        "the patient hears of each passkey added"
    );
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM webauthn_ceremonies")
            .await,
        0,
        "every answered ceremony is gone"
    );
}

async fn a_passkey_is_the_second_step_of_a_password_login(app: TestApp) {
    let email = "second-key@example.com";
    let (token, _) = app.registered(email).await;
    let (mut passkey, added) = add_passkey(&app, &token, false).await;
    assert_eq!(added.status, 201, "{}", added.text);

    let (mfa_token, methods) = password_step(&app, email).await;
    assert_eq!(methods, json!(["recovery_code", "webauthn"]));
    // The passkey routes are Bearer routes: the mfa_token is no access token there either.
    let listed = app.get_with_token("/auth/passkeys", &mfa_token).await;
    assert_eq!((listed.status, listed.error()), (401, "invalid_token"));
    for path in [
        "/auth/passkeys/register/options",
        "/auth/passkeys/register",
        "/auth/passkeys/assertion-options",
        "/auth/passkeys/remove",
    ] {
        let refused = post_auth(&app, path, &mfa_token, json!({"password": PASSWORD})).await;
        assert_eq!(
            (refused.status, refused.error()),
            (401, "invalid_token"),
            "{path}"
        );
    }
    let options = app
        .post_json(
            "/auth/mfa/passkey/options",
            &json!({"mfa_token": mfa_token}),
        )
        .await;
    let (ceremony, options) = ceremony_of(&options);
    assert_eq!(
        options["publicKey"]["allowCredentials"][0]["id"],
        json!(passkey_id(&passkey)),
        "the options name the patient's passkeys"
    );
    let answer = passkey.get(&options, ORIGIN);
    let verified = app
        .post_json(
            "/auth/mfa/verify",
            &json!({"mfa_token": mfa_token,
                    "passkey": {"ceremony_token": ceremony, "credential": answer}}),
        )
        .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    let access = verified.body["token"].as_str().expect("token");
    assert_eq!(amr(access), json!(["pwd", "hwk"]));
    let sessions = app.get_with_token("/auth/sessions", access).await;
    let current = sessions.body["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["current"] == json!(true))
        .expect("current")
        .clone();
    assert_eq!(current["amr"], json!(["pwd", "hwk"]));
    let listed = app.get_with_token("/auth/passkeys", access).await;
    assert!(listed.body["passkeys"][0]["last_used_at"].is_string());

    // The same answer does nothing twice: not with its used mfa_token, nor with a new one.
    let replay = app
        .post_json(
            "/auth/mfa/verify",
            &json!({"mfa_token": mfa_token,
                    "passkey": {"ceremony_token": ceremony, "credential": answer}}),
        )
        .await;
    assert_eq!(replay.status, 401, "{}", replay.text);
    let (fresh, _) = password_step(&app, email).await;
    let replay = app
        .post_json(
            "/auth/mfa/verify",
            &json!({"mfa_token": fresh,
                    "passkey": {"ceremony_token": ceremony, "credential": answer}}),
        )
        .await;
    assert_eq!(replay.status, 401, "{}", replay.text);
    assert_eq!(replay.body["error"], "invalid_credentials");

    // An answer to options of the same login, signed again with an old counter, is refused.
    let options = app
        .post_json("/auth/mfa/passkey/options", &json!({"mfa_token": fresh}))
        .await;
    let (ceremony, options) = ceremony_of(&options);
    let mut clone = passkey.clone_at_counter(0);
    let cloned = clone.get(&options, ORIGIN);
    let refused = app
        .post_json(
            "/auth/mfa/verify",
            &json!({"mfa_token": fresh,
                    "passkey": {"ceremony_token": ceremony, "credential": cloned}}),
        )
        .await;
    assert_eq!(
        refused.status, 401,
        "a cloned key's counter gives it away: {}",
        refused.text
    );
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM audit_events WHERE event = 'mfa_failed' \
             AND reason = 'passkey_counter_went_back'"
        )
        .await,
        1,
        "the copy is recorded as such; the replays before it are plain failures"
    );

    // A second-factor passkey does not sign in alone.
    let alone = sign_in_alone(&app, &mut passkey, ORIGIN).await;
    assert_eq!(alone.status, 401, "{}", alone.text);
    assert_eq!(alone.body["error"], "invalid_credentials");

    // With app codes on too, the methods are the contract's, in its order.
    let setup = app.post_with_token("/auth/mfa/totp/setup", &token).await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    let secret = setup.body["secret"].as_str().expect("secret");
    let now = {
        use service::Clock;
        app.clock.now().timestamp()
    };
    let code = service::mfa::totp::code_from_base32(secret, now).expect("a code");
    let confirmed = post_auth(
        &app,
        "/auth/mfa/totp/confirm",
        &token,
        json!({"code": code}),
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let (_, methods) = password_step(&app, email).await;
    assert_eq!(methods, json!(["totp", "recovery_code", "webauthn"]));
}

async fn a_passwordless_passkey_signs_in_alone(app: TestApp) {
    let email = "alone@example.com";
    let (token, _) = app.registered(email).await;
    let (_, options) = creation_options(&app, &token, true).await;
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"], "required",
        "only a discoverable credential can name its account"
    );
    let (mut passkey, added) = add_passkey(&app, &token, true).await;
    assert_eq!(added.status, 201, "{}", added.text);

    let options = app
        .post_json("/auth/passkeys/login/options", &json!({}))
        .await;
    let (ceremony, options) = ceremony_of(&options);
    assert!(
        options["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "nobody is named before the passkey answers: {options}"
    );
    let answer = passkey.get(&options, ORIGIN);
    let signed_in = app
        .post_json(
            "/auth/passkeys/login",
            &json!({"ceremony_token": ceremony, "credential": answer}),
        )
        .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(
        signed_in.body["patient"]["email"], email,
        "{}",
        signed_in.text
    );
    let access = signed_in.body["token"].as_str().expect("token");
    assert_eq!(amr(access), json!(["hwk", "mfa"]));
    assert_eq!(app.get_with_token("/auth/me", access).await.status, 200);
    let refresh = signed_in.body["refresh_token"].as_str().expect("refresh");
    let refreshed = app
        .post_json("/auth/refresh", &json!({"refresh_token": refresh}))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_eq!(
        amr(refreshed.body["token"].as_str().expect("token")),
        json!(["hwk", "mfa"])
    );

    // The ceremony answers once.
    let replay = app
        .post_json(
            "/auth/passkeys/login",
            &json!({"ceremony_token": ceremony, "credential": answer}),
        )
        .await;
    assert_eq!(replay.status, 422, "{}", replay.text);

    // Without user verification (no PIN, no biometric) a passkey is refused.
    passkey.verifies_user = false;
    let unverified = sign_in_alone(&app, &mut passkey, ORIGIN).await;
    assert_eq!(unverified.status, 401, "{}", unverified.text);
    passkey.verifies_user = true;

    // A copy of the key, whose counter is behind the real one's, is refused and recorded as
    // what it may be.
    let mut clone = passkey.clone_at_counter(0);
    let cloned = sign_in_alone(&app, &mut clone, ORIGIN).await;
    assert_eq!(cloned.status, 401, "{}", cloned.text);

    // With a passkey on, the password alone no longer signs in.
    let (_, methods) = password_step(&app, email).await;
    assert_eq!(methods, json!(["recovery_code", "webauthn"]));
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM audit_events WHERE event = 'login_failed' \
             AND reason = 'passkey_refused'"
        )
        .await,
        1
    );
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM audit_events WHERE event = 'login_failed' \
             AND reason = 'passkey_counter_went_back'"
        )
        .await,
        1,
        "only the copy's answer is recorded as a counter that went back"
    );
}

async fn a_passkey_of_another_origin_or_site_is_refused(app: TestApp) {
    let (token, _) = app.registered("phished@example.com").await;
    // Registration from a page the server does not serve.
    let (ceremony, options) = creation_options(&app, &token, true).await;
    let (_, credential) = SoftPasskey::create(&options, "https://patient-auth.example.net");
    let refused = post_auth(
        &app,
        "/auth/passkeys/register",
        &token,
        json!({"ceremony_token": ceremony, "credential": credential}),
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.body["fields"]["credential"].is_string());

    // A passkey made for this site, answering a sign-in from another origin…
    let (mut passkey, added) = add_passkey(&app, &token, true).await;
    assert_eq!(added.status, 201, "{}", added.text);
    for origin in ["http://localhost:5174", "https://localhost.example.org"] {
        let reply = sign_in_alone(&app, &mut passkey, origin).await;
        assert_eq!(reply.status, 401, "{origin}: {}", reply.text);
    }
    // …or signed for another relying party, is refused.
    passkey.rp_id = "example.org".into();
    let reply = sign_in_alone(&app, &mut passkey, ORIGIN).await;
    assert_eq!(reply.status, 401, "{}", reply.text);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM auth_sessions").await,
        1,
        "only the registration's session"
    );
}

async fn removing_a_passkey_needs_the_password_and_a_fresh_factor(app: TestApp) {
    let email = "remove-key@example.com";
    let (token, _) = app.registered(email).await;
    let (mut passkey, added) = add_passkey(&app, &token, false).await;
    let id = added.body["passkey"]["id"].as_str().expect("id").to_owned();

    let no_factor = post_auth(
        &app,
        "/auth/passkeys/remove",
        &token,
        json!({"passkey_id": id, "password": PASSWORD}),
    )
    .await;
    assert_eq!(no_factor.status, 422, "{}", no_factor.text);
    let (ceremony, options) = fresh_options(&app, &token).await;
    let wrong_password = post_auth(
        &app,
        "/auth/passkeys/remove",
        &token,
        json!({"passkey_id": id, "password": "not-the-password",
               "passkey": {"ceremony_token": ceremony,
                           "credential": passkey.get(&options, ORIGIN)}}),
    )
    .await;
    assert_eq!(wrong_password.status, 401, "{}", wrong_password.text);
    let other = app.registered("someone-else@example.com").await.0;
    let not_theirs = post_auth(
        &app,
        "/auth/passkeys/remove",
        &other,
        json!({"passkey_id": id, "password": PASSWORD, "code": "123456"}),
    )
    .await;
    assert_eq!(not_theirs.status, 404, "{}", not_theirs.text);

    let (ceremony, options) = fresh_options(&app, &token).await;
    let removed = post_auth(
        &app,
        "/auth/passkeys/remove",
        &token,
        json!({"passkey_id": id, "password": PASSWORD,
               "passkey": {"ceremony_token": ceremony,
                           "credential": passkey.get(&options, ORIGIN)}}),
    )
    .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    let status = app.get_with_token("/auth/mfa", &token).await;
    assert_eq!(status.body["passkeys"], 0, "{}", status.text);
    assert_eq!(
        status.body["recovery_codes_left"], 0,
        "the codes go with the last factor"
    );
    let login = app.login(email, PASSWORD).await;
    assert!(login.body["token"].is_string(), "{}", login.text);
    let options = post_auth(&app, "/auth/passkeys/assertion-options", &token, json!({})).await;
    assert_eq!(options.status, 409, "{}", options.text);
    assert_eq!(options.body["error"], "mfa_not_set_up");
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM audit_events WHERE event = 'passkey_removed'")
            .await,
        1
    );
}

async fn hostile_passkey_input_is_a_clear_error_and_never_a_500(app: TestApp) {
    let (token, _) = app.registered("hostile-keys@example.com").await;
    let (ceremony, options) = creation_options(&app, &token, false).await;
    let (_, good) = SoftPasskey::create(&options, ORIGIN);
    let mut cases: Vec<(&str, Value)> = vec![
        (
            "/auth/passkeys/register",
            json!({"ceremony_token": ceremony}),
        ),
        ("/auth/passkeys/register", json!({"credential": good})),
        (
            "/auth/passkeys/register",
            json!({"ceremony_token": "x".repeat(5000), "credential": good}),
        ),
        (
            "/auth/passkeys/register",
            json!({"ceremony_token": "'; DROP TABLE passkeys; --", "credential": good}),
        ),
        (
            "/auth/passkeys/register",
            json!({"ceremony_token": ceremony, "credential": {"id": 1}}),
        ),
        (
            "/auth/passkeys/register",
            json!({"ceremony_token": ceremony, "credential": "not an object"}),
        ),
        (
            "/auth/passkeys/register",
            json!({"ceremony_token": ceremony, "name": "x".repeat(65), "credential": good}),
        ),
        (
            "/auth/passkeys/register",
            json!({"ceremony_token": ceremony, "name": "bell\u{7}", "credential": good}),
        ),
        (
            "/auth/passkeys/register/options",
            json!({"password": PASSWORD, "passwordless": "yes"}),
        ),
        (
            "/auth/passkeys/remove",
            json!({"passkey_id": "x".repeat(5000), "password": PASSWORD, "code": "1"}),
        ),
        (
            "/auth/passkeys/remove",
            json!({"passkey_id": 7, "password": PASSWORD, "code": "1"}),
        ),
        (
            "/auth/passkeys/remove",
            json!({"password": PASSWORD, "code": "1"}),
        ),
        (
            "/auth/passkeys/remove",
            json!({"passkey_id": "a", "password": PASSWORD, "code": "1", "recovery_code": "2"}),
        ),
        (
            "/auth/passkeys/remove",
            json!({"passkey_id": "a", "password": PASSWORD, "passkey": {"ceremony_token": "abc"}}),
        ),
    ];
    let mut bad_base64 = good.clone();
    bad_base64["response"]["attestationObject"] = json!("%%%not-base64%%%");
    cases.push((
        "/auth/passkeys/register",
        json!({"ceremony_token": ceremony, "credential": bad_base64}),
    ));
    let mut garbage_cbor = good.clone();
    garbage_cbor["response"]["attestationObject"] = json!("AAAAAAAAAAAAAAAA");
    cases.push((
        "/auth/passkeys/register",
        json!({"ceremony_token": ceremony, "credential": garbage_cbor}),
    ));
    for (path, body) in &cases {
        let reply = post_auth(&app, path, &token, body.clone()).await;
        assert!(
            matches!(reply.status, 400 | 404 | 422),
            "{path} {body}: {} {}",
            reply.status,
            reply.text
        );
        assert!(reply.body["error"].is_string(), "{}", reply.text);
    }
    let anonymous: Vec<(&str, Value)> = vec![
        ("/auth/passkeys/login", json!({})),
        (
            "/auth/passkeys/login",
            json!({"ceremony_token": "unknown", "credential": {}}),
        ),
        (
            "/auth/passkeys/login",
            json!({"ceremony_token": "unknown", "credential": []}),
        ),
        ("/auth/mfa/passkey/options", json!({})),
        (
            "/auth/mfa/passkey/options",
            json!({"mfa_token": "unknown-token"}),
        ),
        (
            "/auth/mfa/verify",
            json!({"mfa_token": "unknown", "passkey": {"ceremony_token": "x"}}),
        ),
        (
            "/auth/mfa/verify",
            json!({"mfa_token": "unknown", "passkey": "x"}),
        ),
    ];
    for (path, body) in &anonymous {
        let reply = app.post_json(path, body).await;
        assert!(
            matches!(reply.status, 400 | 401 | 422),
            "{path} {body}: {} {}",
            reply.status,
            reply.text
        );
        assert!(reply.body["error"].is_string(), "{}", reply.text);
    }
    // A login ceremony does not register a passkey, nor another patient's ceremony.
    let login_options = app
        .post_json("/auth/passkeys/login/options", &json!({}))
        .await;
    let (login_ceremony, _) = ceremony_of(&login_options);
    let other = app.registered("other-hostile@example.com").await.0;
    let (theirs, their_options) = creation_options(&app, &other, false).await;
    let (_, their_credential) = SoftPasskey::create(&their_options, ORIGIN);
    for (ceremony, credential) in [(login_ceremony, good.clone()), (theirs, their_credential)] {
        let reply = post_auth(
            &app,
            "/auth/passkeys/register",
            &token,
            json!({"ceremony_token": ceremony, "credential": credential}),
        )
        .await;
        assert_eq!(reply.status, 422, "{}", reply.text);
    }
    assert_eq!(app.sql_count("SELECT COUNT(*) FROM passkeys").await, 0);
}

/// A passkey's answer to fresh sign-in options, from a page at `origin`, sent to sign in alone.
async fn sign_in_alone(app: &TestApp, passkey: &mut SoftPasskey, origin: &str) -> Reply {
    let options = app
        .post_json("/auth/passkeys/login/options", &json!({}))
        .await;
    let (ceremony, options) = ceremony_of(&options);
    app.post_json(
        "/auth/passkeys/login",
        &json!({"ceremony_token": ceremony, "credential": passkey.get(&options, origin)}),
    )
    .await
}

/// Options for a passkey as the fresh factor of a change.
async fn fresh_options(app: &TestApp, token: &str) -> (String, Value) {
    let reply = post_auth(app, "/auth/passkeys/assertion-options", token, json!({})).await;
    ceremony_of(&reply)
}

/// The credential id of a software passkey as the server shows it (base64url).
fn passkey_id(passkey: &SoftPasskey) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&passkey.credential_id)
}

on_every_database!(
    a_passkey_is_added_with_the_password_and_listed,
    a_passkey_is_the_second_step_of_a_password_login,
    a_passwordless_passkey_signs_in_alone,
    a_passkey_of_another_origin_or_site_is_refused,
    removing_a_passkey_needs_the_password_and_a_fresh_factor,
    hostile_passkey_input_is_a_clear_error_and_never_a_500,
);
