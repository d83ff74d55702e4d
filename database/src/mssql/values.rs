//! Values across the bridge: SeaORM's bound values into tiberius parameters, and tiberius's
//! column data back into the SeaORM values the entities declare.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sea_orm::{DbErr, ProxyRow, RuntimeErr, Value};
use tiberius::{ColumnData, FromSql, Row};

/// One bound parameter, owned so that it can outlive the statement text.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// `BIT`.
    Bool(bool),
    /// `INT` (and smaller).
    I32(i32),
    /// `BIGINT` (and unsigned values, which SeaORM uses for LIMIT/OFFSET).
    I64(i64),
    /// `FLOAT`.
    F64(f64),
    /// `NVARCHAR`.
    Text(String),
    /// `VARBINARY`.
    Bytes(Vec<u8>),
    /// `DATE`.
    Date(NaiveDate),
    /// `DATETIME2`.
    DateTime(NaiveDateTime),
    /// `DATETIMEOFFSET`.
    DateTimeUtc(DateTime<Utc>),
}

fn unsupported(what: &str) -> DbErr {
    DbErr::Custom(format!("SQL Server bridge: cannot bind a {what} value"))
}

/// A SeaORM value as a parameter; `None` for SQL NULL (written into the statement as `NULL`,
/// which every TDS server accepts, rather than sent as an untyped NULL parameter).
pub fn to_param(value: &Value) -> Result<Option<Param>, DbErr> {
    Ok(match value {
        Value::Bool(v) => v.map(Param::Bool),
        Value::TinyInt(v) => v.map(|v| Param::I32(v.into())),
        Value::SmallInt(v) => v.map(|v| Param::I32(v.into())),
        Value::Int(v) => v.map(Param::I32),
        Value::BigInt(v) => v.map(Param::I64),
        Value::TinyUnsigned(v) => v.map(|v| Param::I32(v.into())),
        Value::SmallUnsigned(v) => v.map(|v| Param::I32(v.into())),
        Value::Unsigned(v) => v.map(|v| Param::I64(v.into())),
        Value::BigUnsigned(v) => match v {
            Some(v) => Some(Param::I64(
                i64::try_from(*v).map_err(|_| unsupported("u64 above i64::MAX"))?,
            )),
            None => None,
        },
        Value::Float(v) => v.map(|v| Param::F64(v.into())),
        Value::Double(v) => v.map(Param::F64),
        Value::String(v) => v.as_ref().map(|v| Param::Text(v.as_ref().clone())),
        Value::Char(v) => v.map(|v| Param::Text(v.to_string())),
        Value::Bytes(v) => v.as_ref().map(|v| Param::Bytes(v.as_ref().clone())),
        Value::ChronoDate(v) => v.as_ref().map(|v| Param::Date(**v)),
        Value::ChronoDateTime(v) => v.as_ref().map(|v| Param::DateTime(**v)),
        Value::ChronoDateTimeUtc(v) => v.as_ref().map(|v| Param::DateTimeUtc(**v)),
        Value::ChronoDateTimeWithTimeZone(v) => v
            .as_ref()
            .map(|v| Param::DateTimeUtc(v.with_timezone(&Utc))),
        _ => return Err(unsupported("this kind of")),
    })
}

/// Binds owned parameters to a tiberius query, in order.
pub fn bind_all(query: &mut tiberius::Query<'_>, params: Vec<Param>) {
    for param in params {
        match param {
            Param::Bool(v) => query.bind(v),
            Param::I32(v) => query.bind(v),
            Param::I64(v) => query.bind(v),
            Param::F64(v) => query.bind(v),
            Param::Text(v) => query.bind(v),
            Param::Bytes(v) => query.bind(v),
            Param::Date(v) => query.bind(v),
            Param::DateTime(v) => query.bind(v),
            Param::DateTimeUtc(v) => query.bind(v),
        }
    }
}

fn decode_error(column: &str, error: impl std::fmt::Display) -> DbErr {
    DbErr::Query(RuntimeErr::Internal(format!(
        "SQL Server bridge: column {column}: {error}"
    )))
}

/// One column's data as the SeaORM value the entities expect. SQL Server's own types decide:
/// the migrations give `INT` for `i32` keys, `DATETIMEOFFSET` for UTC timestamps, `DATE` for
/// dates. `DATETIME2` and the older date-time types are read as UTC.
pub fn to_value(column: &str, data: &ColumnData<'static>) -> Result<Value, DbErr> {
    let err = |e: tiberius::error::Error| decode_error(column, e);
    Ok(match data {
        ColumnData::Bit(v) => Value::Bool(*v),
        ColumnData::U8(v) => Value::SmallInt(v.map(i16::from)),
        ColumnData::I16(v) => Value::SmallInt(*v),
        ColumnData::I32(v) => Value::Int(*v),
        ColumnData::I64(v) => Value::BigInt(*v),
        ColumnData::F32(v) => Value::Float(*v),
        ColumnData::F64(v) => Value::Double(*v),
        ColumnData::String(v) => Value::String(v.as_ref().map(|s| Box::new(s.to_string()))),
        ColumnData::Guid(v) => Value::String(v.map(|g| Box::new(g.to_string()))),
        ColumnData::Binary(v) => Value::Bytes(v.as_ref().map(|b| Box::new(b.to_vec()))),
        ColumnData::Date(_) => {
            Value::ChronoDate(NaiveDate::from_sql(data).map_err(err)?.map(Box::new))
        }
        ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) | ColumnData::DateTime2(_) => {
            Value::ChronoDateTimeUtc(
                NaiveDateTime::from_sql(data)
                    .map_err(err)?
                    .map(|t| Box::new(t.and_utc())),
            )
        }
        ColumnData::DateTimeOffset(_) => {
            Value::ChronoDateTimeUtc(DateTime::<Utc>::from_sql(data).map_err(err)?.map(Box::new))
        }
        ColumnData::Numeric(v) => Value::Double(v.map(f64::from)),
        other => {
            return Err(decode_error(
                column,
                format!("unsupported SQL Server type {other:?}"),
            ))
        }
    })
}

/// A tiberius row as SeaORM's proxy row.
pub fn to_proxy_row(row: Row) -> Result<ProxyRow, DbErr> {
    let names: Vec<String> = row.columns().iter().map(|c| c.name().to_owned()).collect();
    let mut values = BTreeMap::new();
    for (name, data) in names.into_iter().zip(row) {
        let value = to_value(&name, &data)?;
        values.insert(name, value);
    }
    Ok(ProxyRow { values })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use tiberius::IntoSql;

    fn round_trip<T: IntoSql<'static>>(value: T) -> Value {
        to_value("c", &value.into_sql()).expect("decodes")
    }

    #[test]
    fn every_entity_column_type_decodes_to_the_declared_value() {
        assert_eq!(round_trip(7_i32), Value::Int(Some(7)));
        assert_eq!(round_trip(7_i64), Value::BigInt(Some(7)));
        assert_eq!(round_trip(true), Value::Bool(Some(true)));
        assert_eq!(
            round_trip("أحمد 🌟".to_owned()),
            Value::String(Some(Box::new("أحمد 🌟".into())))
        );
        let day = NaiveDate::from_ymd_opt(2026, 10, 1).expect("date");
        assert_eq!(round_trip(day), Value::ChronoDate(Some(Box::new(day))));
        let instant = Utc
            .with_ymd_and_hms(2026, 11, 24, 10, 0, 0)
            .single()
            .expect("time")
            + chrono::Duration::microseconds(123_456);
        assert_eq!(
            round_trip(instant),
            Value::ChronoDateTimeUtc(Some(Box::new(instant)))
        );
        assert_eq!(
            round_trip(instant.naive_utc()),
            Value::ChronoDateTimeUtc(Some(Box::new(instant)))
        );
    }

    #[test]
    fn nulls_keep_their_type() {
        assert_eq!(
            to_value("c", &ColumnData::I32(None)).expect("null"),
            Value::Int(None)
        );
        assert_eq!(
            to_value("c", &ColumnData::String(None)).expect("null"),
            Value::String(None)
        );
        assert_eq!(
            to_value("c", &ColumnData::Date(None)).expect("null"),
            Value::ChronoDate(None)
        );
        assert_eq!(
            to_value("c", &ColumnData::DateTimeOffset(None)).expect("null"),
            Value::ChronoDateTimeUtc(None)
        );
        assert_eq!(
            to_value("c", &ColumnData::Bit(None)).expect("null"),
            Value::Bool(None)
        );
    }

    #[test]
    fn values_bind_as_parameters_and_none_as_null() {
        assert_eq!(
            to_param(&Value::Int(Some(5))).expect("ok"),
            Some(Param::I32(5))
        );
        assert_eq!(
            to_param(&Value::BigUnsigned(Some(1))).expect("ok"),
            Some(Param::I64(1))
        );
        assert_eq!(to_param(&Value::String(None)).expect("ok"), None);
        assert_eq!(to_param(&Value::ChronoDateTimeUtc(None)).expect("ok"), None);
        assert!(to_param(&Value::BigUnsigned(Some(u64::MAX))).is_err());
        let text = Value::String(Some(Box::new("x".into())));
        assert_eq!(to_param(&text).expect("ok"), Some(Param::Text("x".into())));
    }
}
