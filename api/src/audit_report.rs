//! A patient's audit events as an operator reads them: an aligned text table, or JSON lines.

use chrono::SecondsFormat;
use entity::audit_event;
use serde_json::json;

/// The table's column headings, in order.
const HEADINGS: [&str; 6] = [
    "OCCURRED AT (UTC)",
    "EVENT",
    "REASON",
    "SESSION",
    "IP",
    "REQUEST ID",
];

/// What an empty column shows.
const EMPTY: &str = "-";

/// The events as a table with a heading row, columns padded to their widest cell.
pub fn table(events: &[audit_event::Model]) -> String {
    let rows: Vec<[String; 6]> = events.iter().map(cells).collect();
    let mut widths = HEADINGS.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let headings = HEADINGS.map(str::to_owned);
    std::iter::once(&headings)
        .chain(&rows)
        .map(|row| line(row, &widths))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The events as one JSON object per line.
pub fn json_lines(events: &[audit_event::Model]) -> String {
    events
        .iter()
        .map(|event| {
            json!({
                "audit_event_id": event.audit_event_id,
                "occurred_at": timestamp(event),
                "patient_id": event.patient_id,
                "event": event.event,
                "reason": event.reason,
                "session_id": event.session_id,
                "ip": event.ip,
                "request_id": event.request_id,
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn timestamp(event: &audit_event::Model) -> String {
    event.occurred_at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn cells(event: &audit_event::Model) -> [String; 6] {
    let or_empty = |value: &Option<String>| value.clone().unwrap_or_else(|| EMPTY.to_owned());
    [
        timestamp(event),
        event.event.clone(),
        or_empty(&event.reason),
        or_empty(&event.session_id),
        or_empty(&event.ip),
        or_empty(&event.request_id),
    ]
}

/// One row, each cell left-aligned in its column, two spaces apart, no trailing blanks.
fn line(cells: &[String; 6], widths: &[usize; 6]) -> String {
    cells
        .iter()
        .zip(widths)
        .map(|(cell, width)| format!("{cell:<width$}"))
        .collect::<Vec<_>>()
        .join("  ")
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn event(id: i64, event: &str, reason: Option<&str>) -> audit_event::Model {
        audit_event::Model {
            audit_event_id: id,
            occurred_at: Utc
                .with_ymd_and_hms(2026, 11, 24, 10, 0, 0)
                .single()
                .expect("time"),
            patient_id: Some(7),
            event: event.into(),
            reason: reason.map(Into::into),
            session_id: None,
            ip: Some("127.0.0.1".into()),
            request_id: Some("req-1".into()),
        }
    }

    #[test]
    fn columns_line_up_and_missing_values_show_a_dash() {
        let text = table(&[
            event(2, "login_failed", Some("wrong_password")),
            event(1, "register", None),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let column = |line: &str| line.find("127.0.0.1");
        assert_eq!(column(lines[1]), column(lines[2]));
        assert_eq!(lines[0].find("IP"), column(lines[1]));
        assert!(lines[2].contains("register  "), "{text}");
        assert!(lines[2].contains(" -  "), "{text}");
    }

    #[test]
    fn json_lines_hold_one_event_each() {
        let text = json_lines(&[event(2, "logout", None), event(1, "register", None)]);
        let parsed: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("json"))
            .collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0]["event"], "logout");
        assert_eq!(parsed[0]["occurred_at"], "2026-11-24T10:00:00Z");
        assert_eq!(parsed[1]["reason"], serde_json::Value::Null);
    }
}
