//! The process's log: one JSON object per line (`LOG_FORMAT=json`, the default) or plain text for
//! a terminal. Every line written while a request runs carries its request id.
//!
//! What is logged is chosen where it is logged: paths without query strings, codes instead of
//! bodies, ids instead of names. No password, token or hash is ever passed to a log macro; the
//! `log_secrets` test proves it from the outside.

use std::io::Write;

use log::kv::{Key, Value, VisitSource};
use serde_json::{Map, Value as Json};

use crate::request_id;
use crate::settings::LogFormat;

/// What is logged when `RUST_LOG` says nothing: our own info, the libraries' warnings. The
/// WebAuthn library is silent: it logs ordinary passkeys (counter 0, backed up) as errors and
/// ceremony data at debug; `service::passkeys` logs each refusal with its reason.
const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,tiberius=warn,\
                              webauthn_rs=off,webauthn_rs_core=off";

/// Installs the process-wide logger in the given format (once; later calls do nothing).
pub fn init(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(DEFAULT_FILTER));
    if format == LogFormat::Json {
        builder.format(|out, record| {
            let line = json_line(record);
            writeln!(out, "{line}")
        });
    }
    let _ = builder.try_init();
}

/// One record as a JSON object: time, level, target, request id, message, then its key-values.
fn json_line(record: &log::Record<'_>) -> Json {
    let mut fields = Map::new();
    fields.insert(
        "time".into(),
        chrono::Utc::now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            .into(),
    );
    fields.insert("level".into(), record.level().as_str().into());
    fields.insert("target".into(), record.target().into());
    let request = request_id::current();
    if request != "-" {
        fields.insert("request_id".into(), request.into());
    }
    fields.insert("message".into(), record.args().to_string().into());
    let mut visitor = Collect(&mut fields);
    let _ = record.key_values().visit(&mut visitor);
    Json::Object(fields)
}

/// Copies a record's key-values into the JSON object, numbers and booleans as such.
struct Collect<'a>(&'a mut Map<String, Json>);

impl<'kvs> VisitSource<'kvs> for Collect<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let json = if let Some(n) = value.to_u64() {
            n.into()
        } else if let Some(n) = value.to_i64() {
            n.into()
        } else if let Some(b) = value.to_bool() {
            b.into()
        } else if let Some(x) = value.to_f64() {
            serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
        } else {
            value.to_string().into()
        };
        self.0.insert(key.as_str().to_owned(), json);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_becomes_one_json_object_with_typed_fields() {
        let kvs: [(&str, Value<'_>); 3] = [
            ("status", Value::from(201u16)),
            ("route", Value::from("/auth/login")),
            ("slow", Value::from(false)),
        ];
        let record = log::Record::builder()
            .level(log::Level::Info)
            .target("access")
            .args(format_args!("request"))
            .key_values(&kvs)
            .build();
        let line = json_line(&record);
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["target"], "access");
        assert_eq!(line["message"], "request");
        assert_eq!(line["status"], 201);
        assert_eq!(line["route"], "/auth/login");
        assert_eq!(line["slow"], false);
        assert!(line.get("request_id").is_none(), "outside a request");
        assert!(line["time"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(!line.to_string().contains('\n'));
    }
}
