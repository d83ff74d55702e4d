//! SeaORM builds its statements in PostgreSQL's dialect; this turns each into T-SQL through
//! `sqlparser`'s syntax tree and token stream, never by searching and replacing text:
//!
//! - structure, on the tree: `RETURNING` → `OUTPUT INSERTED.…`/`DELETED.…`, `LIMIT n` →
//!   `TOP (n)`, `LIMIT n OFFSET m` → `OFFSET m ROWS FETCH NEXT n ROWS ONLY`, `CREATE TABLE IF NOT
//!   EXISTS` → `IF OBJECT_ID(…) IS NULL CREATE TABLE …` with SQL Server types;
//! - spelling, on the tokens: `$1` → `@P1`, `"name"` → `[name]`, `COUNT(` → `COUNT_BIG(`.
//!
//! A statement of a kind it does not know is an error naming the kind, never passed on unchecked.
//! Raw T-SQL (the SQL Server migrations) is marked with [`TSQL_MARKER`] and passed through.

use sqlparser::ast::{
    CreateTable, DataType, Expr, Fetch, Ident, LimitClause, ObjectName, Offset, OffsetRows,
    OrderBy, OrderByExpr, OrderByKind, OrderByOptions, OutputClause, Query, SelectItem, SetExpr,
    Statement, Top, TopQuantity,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Word};

/// Statements that start with this comment are T-SQL already and are sent as they are.
pub const TSQL_MARKER: &str = "/* t-sql */";

/// Why a statement could not be translated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// The statement did not parse as PostgreSQL.
    #[error("cannot parse statement for SQL Server: {0}")]
    Parse(String),
    /// The statement parsed, but the bridge does not know how to express it in T-SQL.
    #[error("statement kind not supported on SQL Server: {0}")]
    Unsupported(String),
}

/// Translates one SeaORM statement into T-SQL.
pub fn to_tsql(sql: &str) -> Result<String, TranslateError> {
    to_tsql_with_nulls(sql, &[])
}

/// A statement in T-SQL, and whether it answers with rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// The T-SQL text.
    pub tsql: String,
    /// An `INSERT`/`UPDATE`/`DELETE` with an `OUTPUT` clause (from `RETURNING`): its rows are
    /// the affected rows, and reading them is the count that holds on every server (Babelfish
    /// reports zero affected rows for such a statement when it is only executed).
    pub outputs_rows: bool,
}

/// Translates a statement whose `$n` parameters are NULL where `nulls[n - 1]` is true: those
/// are written as `NULL` and the remaining parameters renumbered `@P1…` in order.
pub fn to_tsql_with_nulls(sql: &str, nulls: &[bool]) -> Result<String, TranslateError> {
    translate(sql, nulls).map(|translation| translation.tsql)
}

/// Translates a statement (see [`to_tsql_with_nulls`]) and says whether it outputs rows.
pub fn translate(sql: &str, nulls: &[bool]) -> Result<Translation, TranslateError> {
    if sql.trim_start().starts_with(TSQL_MARKER) {
        return Ok(Translation {
            tsql: sql.to_owned(),
            outputs_rows: false,
        });
    }
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|e| TranslateError::Parse(e.to_string()))?;
    let [statement] = statements.as_mut_slice() else {
        return Err(TranslateError::Unsupported(format!(
            "{} statements in one call",
            statements.len()
        )));
    };
    let prefix = rewrite_statement(statement)?;
    let outputs_rows = match &*statement {
        Statement::Insert(insert) => insert.output.is_some(),
        Statement::Update(update) => update.output.is_some(),
        Statement::Delete(delete) => delete.output.is_some(),
        _ => false,
    };
    Ok(Translation {
        tsql: respell(&format!("{prefix}{statement}"), nulls)?,
        outputs_rows,
    })
}

/// Rewrites the tree in place; returns text to put before the statement (a guard, for DDL).
fn rewrite_statement(statement: &mut Statement) -> Result<String, TranslateError> {
    match statement {
        Statement::Query(query) => rewrite_query(query).map(|()| String::new()),
        Statement::Insert(insert) => {
            if insert.on.is_some() {
                // Upserts are not used on SQL Server: a unique violation is the race signal.
                return Err(TranslateError::Unsupported("INSERT … ON CONFLICT".into()));
            }
            insert.output = insert
                .returning
                .take()
                .map(|items| output("INSERTED", items));
            if let Some(source) = insert.source.as_mut() {
                rewrite_query(source)?;
            }
            Ok(String::new())
        }
        Statement::Update(update) => {
            update.output = update
                .returning
                .take()
                .map(|items| output("INSERTED", items));
            Ok(String::new())
        }
        Statement::Delete(delete) => {
            delete.output = delete
                .returning
                .take()
                .map(|items| output("DELETED", items));
            Ok(String::new())
        }
        Statement::CreateTable(create) => Ok(rewrite_create_table(create)),
        other => Err(TranslateError::Unsupported(statement_kind(other))),
    }
}

/// The first word of a statement, for an error message that holds no data.
fn statement_kind(statement: &Statement) -> String {
    statement
        .to_string()
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `RETURNING a, b` → `OUTPUT INSERTED.a, INSERTED.b` (or `DELETED.`).
fn output(pseudo_table: &str, items: Vec<SelectItem>) -> OutputClause {
    let qualify = |expr: Expr| match expr {
        Expr::Identifier(ident) => Expr::CompoundIdentifier(vec![Ident::new(pseudo_table), ident]),
        Expr::CompoundIdentifier(mut parts) => {
            let column = parts.pop().unwrap_or_else(|| Ident::new("*"));
            Expr::CompoundIdentifier(vec![Ident::new(pseudo_table), column])
        }
        other => other,
    };
    let select_items = items
        .into_iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(expr) => SelectItem::UnnamedExpr(qualify(expr)),
            SelectItem::ExprWithAlias { expr, alias } => SelectItem::ExprWithAlias {
                expr: qualify(expr),
                alias,
            },
            SelectItem::Wildcard(options) => SelectItem::QualifiedWildcard(
                sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(ObjectName::from(
                    vec![Ident::new(pseudo_table)],
                )),
                options,
            ),
            other => other,
        })
        .collect();
    OutputClause::Output {
        output_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        select_items,
        into_table: None,
    }
}

/// `LIMIT n` → `TOP (n)`; `LIMIT n OFFSET m` → `ORDER BY … OFFSET m ROWS FETCH NEXT n ROWS ONLY`.
fn rewrite_query(query: &mut Query) -> Result<(), TranslateError> {
    let Some(limit_clause) = query.limit_clause.take() else {
        return Ok(());
    };
    let LimitClause::LimitOffset {
        limit,
        offset,
        limit_by,
    } = limit_clause
    else {
        return Err(TranslateError::Unsupported("LIMIT offset, count".into()));
    };
    if !limit_by.is_empty() {
        return Err(TranslateError::Unsupported("LIMIT BY".into()));
    }
    match (limit, offset) {
        (Some(limit), None) => {
            let SetExpr::Select(select) = query.body.as_mut() else {
                return Err(TranslateError::Unsupported(
                    "LIMIT on a set operation".into(),
                ));
            };
            select.top = Some(Top {
                with_ties: false,
                percent: false,
                quantity: Some(TopQuantity::Expr(limit)),
            });
        }
        (limit, Some(offset)) => {
            if query.order_by.is_none() {
                // OFFSET needs an ORDER BY in T-SQL; this one keeps the engine's order.
                let no_order = Parser::new(&PostgreSqlDialect {})
                    .try_with_sql("(SELECT NULL)")
                    .and_then(|mut parser| parser.parse_expr())
                    .map_err(|e| TranslateError::Parse(e.to_string()))?;
                query.order_by = Some(OrderBy {
                    kind: OrderByKind::Expressions(vec![OrderByExpr {
                        expr: no_order,
                        options: OrderByOptions {
                            sort: None,
                            nulls_first: None,
                        },
                        with_fill: None,
                    }]),
                    interpolate: None,
                });
            }
            query.limit_clause = Some(LimitClause::LimitOffset {
                limit: None,
                offset: Some(Offset {
                    value: offset.value,
                    rows: OffsetRows::Rows,
                }),
                limit_by: vec![],
            });
            query.fetch = limit.map(|quantity| Fetch {
                with_ties: false,
                percent: false,
                quantity: Some(quantity),
            });
        }
        (None, None) => {}
    }
    Ok(())
}

/// `CREATE TABLE IF NOT EXISTS t (…)` → `IF OBJECT_ID(N't', N'U') IS NULL CREATE TABLE t (…)`,
/// with text types made NVARCHAR. (The service's own tables have hand-written T-SQL migrations;
/// this serves the migrator's bookkeeping table.)
fn rewrite_create_table(create: &mut CreateTable) -> String {
    for column in &mut create.columns {
        column.data_type = match &column.data_type {
            DataType::Varchar(None) | DataType::CharacterVarying(None) | DataType::String(None) => {
                DataType::Nvarchar(Some(sqlparser::ast::CharacterLength::IntegerLength {
                    length: 255,
                    unit: None,
                }))
            }
            DataType::Varchar(Some(length)) | DataType::CharacterVarying(Some(length)) => {
                DataType::Nvarchar(Some(*length))
            }
            DataType::Text => DataType::Nvarchar(Some(sqlparser::ast::CharacterLength::Max)),
            DataType::Boolean | DataType::Bool => DataType::Bit(None),
            other => other.clone(),
        };
    }
    if !create.if_not_exists {
        return String::new();
    }
    create.if_not_exists = false;
    let name = create
        .name
        .0
        .iter()
        .filter_map(|part| part.as_ident())
        .map(|ident| ident.value.clone())
        .collect::<Vec<_>>()
        .join(".");
    format!(
        "IF OBJECT_ID(N'{}', N'U') IS NULL ",
        name.replace('\'', "''")
    )
}

/// The token-level pass: placeholders, identifier quotes, `COUNT` → `COUNT_BIG`.
fn respell(sql: &str, nulls: &[bool]) -> Result<String, TranslateError> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .map_err(|e| TranslateError::Parse(e.to_string()))?;
    let mut out = String::with_capacity(sql.len() + 16);
    let mut iter = tokens.iter().peekable();
    while let Some(token) = iter.next() {
        match token {
            Token::Placeholder(name) if name.starts_with('$') => {
                let index: usize = name[1..]
                    .parse()
                    .map_err(|_| TranslateError::Parse(format!("placeholder {name}")))?;
                if nulls.get(index.wrapping_sub(1)).copied().unwrap_or(false) {
                    out.push_str("NULL");
                } else {
                    let earlier_nulls = nulls
                        .iter()
                        .take(index.saturating_sub(1))
                        .filter(|null| **null)
                        .count();
                    out.push_str(&format!("@P{}", index - earlier_nulls));
                }
            }
            Token::Word(word) if word.quote_style == Some('"') => {
                let bracketed = Word {
                    value: word.value.replace(']', "]]"),
                    quote_style: Some('['),
                    keyword: word.keyword,
                };
                out.push_str(&bracketed.to_string());
            }
            Token::Word(word)
                if word.quote_style.is_none()
                    && word.value.eq_ignore_ascii_case("count")
                    && matches!(iter.peek(), Some(Token::LParen)) =>
            {
                out.push_str("COUNT_BIG");
            }
            other => out.push_str(&other.to_string()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_write_with_returning_is_marked_as_outputting_rows_and_nothing_else_is() {
        let outputs = |sql: &str| translate(sql, &[]).expect("translates").outputs_rows;
        assert!(outputs(
            r#"INSERT INTO "t" ("a") VALUES ($1) RETURNING "a""#
        ));
        assert!(outputs(r#"UPDATE "t" SET "a" = $1 RETURNING "a""#));
        assert!(outputs(r#"DELETE FROM "t" WHERE "a" = $1 RETURNING "a""#));
        assert!(!outputs(r#"INSERT INTO "t" ("a") VALUES ($1)"#));
        assert!(!outputs(r#"SELECT "a" FROM "t""#));
        assert!(!outputs(
            "/* t-sql */ INSERT INTO t (a) OUTPUT INSERTED.a VALUES (1)"
        ));
    }

    use super::*;

    fn t(sql: &str) -> String {
        to_tsql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    #[test]
    fn placeholders_and_quoted_identifiers_are_respelled() {
        assert_eq!(
            t(r#"SELECT "patients"."email" FROM "patients" WHERE LOWER("patients"."email") = $1"#),
            "SELECT [patients].[email] FROM [patients] WHERE LOWER([patients].[email]) = @P1"
        );
    }

    #[test]
    fn limit_becomes_top() {
        assert_eq!(
            t(r#"SELECT "a" FROM "t" WHERE "b" = $1 LIMIT $2"#),
            "SELECT TOP (@P2) [a] FROM [t] WHERE [b] = @P1"
        );
    }

    #[test]
    fn limit_with_offset_becomes_offset_fetch_with_an_order() {
        assert_eq!(
            t(r#"SELECT "a" FROM "t" LIMIT $1 OFFSET $2"#),
            "SELECT [a] FROM [t] ORDER BY (SELECT NULL) OFFSET @P2 ROWS FETCH FIRST @P1 ROWS ONLY"
        );
        assert_eq!(
            t(r#"SELECT "a" FROM "t" ORDER BY "a" DESC LIMIT $1 OFFSET $2"#),
            "SELECT [a] FROM [t] ORDER BY [a] DESC OFFSET @P2 ROWS FETCH FIRST @P1 ROWS ONLY"
        );
    }

    #[test]
    fn returning_becomes_output_inserted() {
        assert_eq!(
            t(r#"INSERT INTO "doctors" ("full_name", "created_at") VALUES ($1, $2) RETURNING "doctor_id", "full_name""#),
            "INSERT INTO [doctors] ([full_name], [created_at]) OUTPUT INSERTED.[doctor_id], INSERTED.[full_name] VALUES (@P1, @P2)"
        );
        assert_eq!(
            t(r#"UPDATE "patients" SET "phone" = $1 WHERE "patients"."patient_id" = $2 RETURNING "patient_id""#),
            "UPDATE [patients] SET [phone] = @P1 OUTPUT INSERTED.[patient_id] WHERE [patients].[patient_id] = @P2"
        );
        assert_eq!(
            t(r#"DELETE FROM "t" WHERE "a" = $1 RETURNING *"#),
            "DELETE FROM [t] OUTPUT DELETED.* WHERE [a] = @P1"
        );
    }

    #[test]
    fn a_multi_row_insert_keeps_its_rows_and_numbers_every_parameter() {
        // The audit trail's group commit writes several events in one statement.
        assert_eq!(
            to_tsql_with_nulls(
                r#"INSERT INTO "audit_events" ("event", "ip", "request_id") VALUES ($1, $2, $3), ($4, $5, $6)"#,
                &[false, true, false, false, false, true]
            )
            .expect("ok"),
            "INSERT INTO [audit_events] ([event], [ip], [request_id]) VALUES (@P1, NULL, @P2), (@P3, @P4, NULL)"
        );
    }

    #[test]
    fn null_parameters_are_written_as_null_and_the_rest_renumbered() {
        assert_eq!(
            to_tsql_with_nulls(
                r#"INSERT INTO "t" ("a", "b", "c") VALUES ($1, $2, $3)"#,
                &[false, true, false]
            )
            .expect("ok"),
            "INSERT INTO [t] ([a], [b], [c]) VALUES (@P1, NULL, @P2)"
        );
    }

    #[test]
    fn count_becomes_count_big() {
        assert_eq!(
            t(r#"SELECT COUNT(*) AS "num_items" FROM "t""#),
            "SELECT COUNT_BIG(*) AS [num_items] FROM [t]"
        );
    }

    #[test]
    fn the_migrators_table_is_created_only_when_missing() {
        assert_eq!(
            t(r#"CREATE TABLE IF NOT EXISTS "seaql_migrations" ( "version" varchar NOT NULL PRIMARY KEY, "applied_at" bigint NOT NULL )"#),
            "IF OBJECT_ID(N'seaql_migrations', N'U') IS NULL CREATE TABLE [seaql_migrations] ([version] NVARCHAR(255) NOT NULL PRIMARY KEY, [applied_at] BIGINT NOT NULL)"
        );
    }

    #[test]
    fn string_literals_are_left_alone() {
        assert_eq!(
            t(r#"SELECT "a" FROM "t" WHERE "b" = 'say "hi" $1'"#),
            "SELECT [a] FROM [t] WHERE [b] = 'say \"hi\" $1'"
        );
    }

    #[test]
    fn marked_tsql_passes_through_untouched() {
        let raw =
            "/* t-sql */ IF OBJECT_ID(N'x', N'U') IS NULL CREATE TABLE x (id INT IDENTITY(1,1))";
        assert_eq!(t(raw), raw);
    }

    #[test]
    fn unknown_statements_are_errors_not_guesses() {
        assert!(matches!(
            to_tsql("CREATE EXTENSION pgcrypto"),
            Err(TranslateError::Unsupported(_))
        ));
        assert!(matches!(
            to_tsql("SELECT 1; SELECT 2"),
            Err(TranslateError::Unsupported(_))
        ));
        assert!(matches!(
            to_tsql("SELEKT nonsense"),
            Err(TranslateError::Parse(_))
        ));
        assert_eq!(
            to_tsql(r#"INSERT INTO "t" ("a") VALUES ($1) ON CONFLICT DO NOTHING"#),
            Err(TranslateError::Unsupported("INSERT … ON CONFLICT".into()))
        );
    }
}
