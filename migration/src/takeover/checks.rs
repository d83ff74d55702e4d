//! The read-only checks run before a take-over changes anything: rows that our schema's rules
//! would refuse are reported by id, so an operator can mend them in their own tool first.

use std::fmt;

use sea_orm_migration::sea_orm::{ConnectionTrait, DbErr};

use super::engine::{query, Engine};
use super::tables::{Kind, Table, NORMALISED_EMAIL, TABLES};

/// How many ids one problem names before it says "and N more".
const IDS_SHOWN: usize = 20;

/// Something in the Flask tables that stops the take-over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Only some of the four tables exist.
    MissingTables {
        /// The contract tables that are missing.
        missing: Vec<String>,
    },
    /// A table lacks columns the contract names.
    MissingColumns {
        /// The table.
        table: &'static str,
        /// The missing columns.
        columns: Vec<&'static str>,
    },
    /// Patients whose emails are the same once trimmed and lower-cased.
    DuplicateEmails {
        /// Each group of patient ids sharing one address.
        groups: Vec<Vec<i32>>,
    },
    /// Patients whose usernames are the same once letter case is ignored.
    DuplicateUsernames {
        /// Each group of patient ids sharing one username.
        groups: Vec<Vec<i32>>,
    },
    /// Rows without a value our schema requires.
    MissingValues {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// The rows' ids.
        ids: Vec<i32>,
    },
    /// Rows that refer to a row that does not exist.
    DanglingReferences {
        /// The table.
        table: &'static str,
        /// The referring column.
        column: &'static str,
        /// The table referred to.
        target: &'static str,
        /// The rows' ids.
        ids: Vec<i32>,
    },
    /// Values that cannot be read as a date or timestamp (SQLite stores anything).
    UnreadableValues {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// The rows' ids.
        ids: Vec<i32>,
    },
    /// `flask_*` tables are left from an earlier take-over that did not finish (MySQL only).
    Interrupted {
        /// The tables found.
        tables: Vec<String>,
    },
}

fn ids(ids: &[i32]) -> String {
    let mut shown: Vec<String> = ids.iter().take(IDS_SHOWN).map(i32::to_string).collect();
    if ids.len() > IDS_SHOWN {
        shown.push(format!("and {} more", ids.len() - IDS_SHOWN));
    }
    shown.join(", ")
}

fn groups(groups: &[Vec<i32>]) -> String {
    let mut shown: Vec<String> = groups
        .iter()
        .take(IDS_SHOWN)
        .map(|group| format!("({})", ids(group)))
        .collect();
    if groups.len() > IDS_SHOWN {
        shown.push(format!("and {} more groups", groups.len() - IDS_SHOWN));
    }
    shown.join(", ")
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingTables { missing } => write!(
                f,
                "only some of the Flask tables exist; missing: {}. Restore them from the backup, \
                 or drop the others to start empty",
                missing.join(", ")
            ),
            Self::MissingColumns { table, columns } => write!(
                f,
                "{table} lacks the column(s) {}: add them, or restore the table as the Flask \
                 backend made it",
                columns.join(", ")
            ),
            Self::DuplicateEmails { groups: found } => write!(
                f,
                "patients share an email once letter case and surrounding spaces are ignored \
                 (patient_id groups {}): emails must be unique, so change or merge all but one \
                 of each group",
                groups(found)
            ),
            Self::DuplicateUsernames { groups: found } => write!(
                f,
                "patients share a username once letter case is ignored (patient_id groups {}): \
                 change or clear all but one of each group",
                groups(found)
            ),
            Self::MissingValues {
                table,
                column,
                ids: found,
            } => write!(
                f,
                "{table} rows without {column} (ids {}): fill it in or delete the rows",
                ids(found)
            ),
            Self::DanglingReferences {
                table,
                column,
                target,
                ids: found,
            } => write!(
                f,
                "{table} rows whose {column} names no row of {target} (ids {}): set it to an \
                 existing one{}",
                ids(found),
                if *column == "patient_id" {
                    " or delete the rows"
                } else {
                    " or to NULL"
                }
            ),
            Self::UnreadableValues {
                table,
                column,
                ids: found,
            } => write!(
                f,
                "{table} rows whose {column} is not a date or time (ids {}): correct the values \
                 (YYYY-MM-DD, or YYYY-MM-DD HH:MM:SS in UTC)",
                ids(found)
            ),
            Self::Interrupted { tables } => write!(
                f,
                "tables {} are left from a take-over that did not finish; the Flask rows are in \
                 them. Drop the contract tables that exist without them, rename each flask_X \
                 back to X, and run `up` again",
                tables.join(", ")
            ),
        }
    }
}

/// Runs every check on the Flask tables; an empty list means the take-over may go ahead.
/// `columns` are the columns each table has (lower-cased names).
pub async fn run(
    conn: &impl ConnectionTrait,
    engine: Engine,
    columns: &[(&'static str, Vec<String>)],
) -> Result<Vec<Problem>, DbErr> {
    let mut problems = Vec::new();
    for table in TABLES {
        let present = columns
            .iter()
            .find(|(name, _)| *name == table.name)
            .map(|(_, present)| present.as_slice())
            .unwrap_or_default();
        let missing: Vec<&'static str> = table
            .columns
            .iter()
            .map(|column| column.name)
            .filter(|name| !present.iter().any(|p| p == name))
            .collect();
        if !missing.is_empty() {
            problems.push(Problem::MissingColumns {
                table: table.name,
                columns: missing,
            });
        }
    }
    // The row checks name columns that must exist.
    if !problems.is_empty() {
        return Ok(problems);
    }
    for table in TABLES {
        check_values(conn, engine, &table, &mut problems).await?;
    }
    let emails = duplicate_groups(conn, engine, NORMALISED_EMAIL, "email IS NOT NULL").await?;
    if !emails.is_empty() {
        problems.push(Problem::DuplicateEmails { groups: emails });
    }
    let usernames = duplicate_groups(
        conn,
        engine,
        "LOWER(username)",
        "username IS NOT NULL AND LTRIM(RTRIM(username)) <> ''",
    )
    .await?;
    if !usernames.is_empty() {
        problems.push(Problem::DuplicateUsernames { groups: usernames });
    }
    Ok(problems)
}

async fn check_values(
    conn: &impl ConnectionTrait,
    engine: Engine,
    table: &Table,
    problems: &mut Vec<Problem>,
) -> Result<(), DbErr> {
    let name = table.name;
    for column in table.columns {
        let col = column.name;
        if column.required {
            let empty = if column.kind == Kind::Email {
                format!("{col} IS NULL OR LTRIM(RTRIM({col})) = ''")
            } else {
                format!("{col} IS NULL")
            };
            let found = ids_where(conn, engine, table, &empty).await?;
            if !found.is_empty() {
                problems.push(Problem::MissingValues {
                    table: name,
                    column: col,
                    ids: found,
                });
            }
        }
        if let Kind::Reference(target, target_id) = column.kind {
            let dangling = format!(
                "{col} IS NOT NULL AND NOT EXISTS \
                 (SELECT 1 FROM {target} t WHERE t.{target_id} = {name}.{col})"
            );
            let found = ids_where(conn, engine, table, &dangling).await?;
            if !found.is_empty() {
                problems.push(Problem::DanglingReferences {
                    table: name,
                    column: col,
                    target,
                    ids: found,
                });
            }
        }
        // Only SQLite accepts any value in any column.
        let unreadable = match (engine, column.kind) {
            (Engine::Sqlite, Kind::Timestamp) => Some(format!(
                "{col} IS NOT NULL AND (typeof({col}) <> 'text' OR strftime('%s', {col}) IS NULL)"
            )),
            (Engine::Sqlite, Kind::Date) => Some(format!(
                "{col} IS NOT NULL AND (typeof({col}) <> 'text' OR date({col}) IS NULL)"
            )),
            _ => None,
        };
        if let Some(unreadable) = unreadable {
            let found = ids_where(conn, engine, table, &unreadable).await?;
            if !found.is_empty() {
                problems.push(Problem::UnreadableValues {
                    table: name,
                    column: col,
                    ids: found,
                });
            }
        }
    }
    Ok(())
}

async fn ids_where(
    conn: &impl ConnectionTrait,
    engine: Engine,
    table: &Table,
    condition: &str,
) -> Result<Vec<i32>, DbErr> {
    let Table { name, id, .. } = *table;
    query(
        conn,
        engine,
        &format!("SELECT {id} FROM {name} WHERE {condition} ORDER BY {id}"),
    )
    .await?
    .iter()
    .map(|row| row.try_get_by_index::<i32>(0))
    .collect()
}

/// Groups of patient ids whose `key` expression is equal, among rows matching `filter`. The
/// database decides what is equal (MySQL's collation also ignores accents, as our unique index
/// there will), so rows are grouped by the lowest id of their group, never by comparing the
/// values here.
async fn duplicate_groups(
    conn: &impl ConnectionTrait,
    engine: Engine,
    key: &str,
    filter: &str,
) -> Result<Vec<Vec<i32>>, DbErr> {
    let rows = query(
        conn,
        engine,
        &format!(
            "SELECT patient_id AS member_id, d.first_id AS first_id FROM patients JOIN \
             (SELECT {key} AS shared, MIN(patient_id) AS first_id FROM patients WHERE {filter} \
              GROUP BY {key} HAVING COUNT(*) > 1) d ON {key} = d.shared \
             WHERE {filter} ORDER BY first_id, member_id"
        ),
    )
    .await?;
    let mut groups: Vec<(i32, Vec<i32>)> = Vec::new();
    for row in rows {
        // By name: the SQL Server bridge's rows are keyed by column name, not position.
        let id = row.try_get::<i32>("", "member_id")?;
        let first = row.try_get::<i32>("", "first_id")?;
        match groups.last_mut() {
            Some((last, members)) if *last == first => members.push(id),
            _ => groups.push((first, vec![id])),
        }
    }
    Ok(groups.into_iter().map(|(_, members)| members).collect())
}
