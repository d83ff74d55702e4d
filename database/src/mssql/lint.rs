//! A check of translated statements: each must parse as T-SQL (`sqlparser`'s MsSql dialect) and
//! hold nothing SQL Server rejects or reads differently. Used by the statement-capture tests.

use sqlparser::dialect::MsSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::translate::TSQL_MARKER;

/// The problems found in one T-SQL statement (empty when it is fine).
pub fn problems(tsql: &str) -> Vec<String> {
    let mut found = Vec::new();
    let body = tsql.trim_start().strip_prefix(TSQL_MARKER).unwrap_or(tsql);
    match Tokenizer::new(&MsSqlDialect {}, body).tokenize() {
        Ok(tokens) => {
            let words: Vec<&Token> = tokens
                .iter()
                .filter(|t| !matches!(t, Token::Whitespace(_)))
                .collect();
            for (index, token) in words.iter().enumerate() {
                match token {
                    Token::Word(word) if word.quote_style.is_none() => match word.keyword {
                        Keyword::LIMIT => found.push("LIMIT (use TOP or OFFSET/FETCH)".into()),
                        Keyword::RETURNING => found.push("RETURNING (use OUTPUT)".into()),
                        Keyword::BOOLEAN => found.push("BOOLEAN type (use BIT)".into()),
                        Keyword::CONFLICT
                            if index > 0
                                && matches!(words[index - 1], Token::Word(w) if w.keyword == Keyword::ON) =>
                        {
                            found.push("ON CONFLICT (no upserts on SQL Server)".into());
                        }
                        _ => {}
                    },
                    Token::Word(word) if word.quote_style == Some('"') => {
                        found.push(format!(
                            "\"{}\" quoted identifier (needs QUOTED_IDENTIFIER ON; use [brackets])",
                            word.value
                        ));
                    }
                    Token::Placeholder(name) if name.starts_with('$') || name == "?" => {
                        found.push(format!("{name} placeholder (use @Pn)"));
                    }
                    _ => {}
                }
            }
        }
        Err(error) => found.push(format!("does not tokenize as T-SQL: {error}")),
    }
    if let Err(error) = Parser::parse_sql(&MsSqlDialect {}, body) {
        found.push(format!("does not parse as T-SQL: {error}"));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::problems;

    #[test]
    fn clean_tsql_has_no_problems() {
        for tsql in [
            "SELECT TOP (@P1) [a] FROM [t] WHERE LOWER([t].[e]) = @P2",
            "INSERT INTO [t] ([a]) OUTPUT INSERTED.[id] VALUES (@P1)",
            // sqlparser's grammar wants constants after FETCH (SQL Server also takes @P2); the
            // service pages nothing, so only TOP appears in what it sends.
            "SELECT [a] FROM [t] ORDER BY [a] OFFSET 0 ROWS FETCH NEXT 10 ROWS ONLY",
            "UPDATE [t] SET [a] = NULL WHERE [b] = @P1",
        ] {
            assert_eq!(problems(tsql), Vec::<String>::new(), "{tsql}");
        }
    }

    #[test]
    fn what_sql_server_rejects_is_named() {
        assert!(problems("SELECT a FROM t LIMIT 1")
            .iter()
            .any(|p| p.starts_with("LIMIT")));
        assert!(problems("INSERT INTO t (a) VALUES ($1) RETURNING id")
            .iter()
            .any(|p| p.starts_with("RETURNING")));
        assert!(problems("SELECT \"a\" FROM t")
            .iter()
            .any(|p| p.contains("quoted identifier")));
        assert!(problems("SELECT a FROM t WHERE b = $1")
            .iter()
            .any(|p| p.contains("placeholder")));
        assert!(problems("CREATE TABLE t (a BOOLEAN)")
            .iter()
            .any(|p| p.starts_with("BOOLEAN")));
        assert!(
            problems("INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING")
                .iter()
                .any(|p| p.starts_with("ON CONFLICT"))
        );
        assert!(problems("SELEKT nonsense")
            .iter()
            .any(|p| p.contains("parse")));
    }
}
