//! The registration rules of the contract, as types: a [`NewPatient`] can only be made from input
//! that passes them, so nothing downstream checks again. The CLI and the HTTP API share them.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::common_passwords;

/// Field name → what is wrong with it, in words for a person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    /// Records a problem with `field` (the first problem of a field wins).
    pub fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| problem.into());
    }

    /// Whether no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The same problems with `from` reported under the name `to`.
    pub fn renamed(mut self, from: &str, to: &str) -> Self {
        if let Some(problem) = self.0.remove(from) {
            self.0.insert(to.to_owned(), problem);
        }
        self
    }

    /// The problem recorded for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
}

/// Registration input as it arrived: every field optional, nothing checked yet.
#[derive(Debug, Default)]
pub struct RegistrationForm {
    /// Full name.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Password in clear (never logged; `SecretString` redacts it).
    pub password: Option<SecretString>,
    /// Optional username.
    pub username: Option<String>,
}

/// A registration that passed every rule, normalised for storage.
#[derive(Debug)]
pub struct NewPatient {
    /// Trimmed full name, 1–100 characters.
    pub name: String,
    /// Trimmed, lower-cased email address.
    pub email: String,
    /// The password, 8–128 characters and not a common one.
    pub password: SecretString,
    /// Username, when one was given.
    pub username: Option<String>,
}

pub use crate::limits::{EMAIL_MAX, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN};
use crate::limits::{USERNAME_MAX, USERNAME_MIN};

impl NewPatient {
    /// Checks every field and returns all problems at once.
    pub fn parse(form: RegistrationForm) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = check_name(form.name.as_deref(), &mut errors);
        let email = check_email(form.email.as_deref(), &mut errors);
        let username = check_username(form.username.as_deref(), &mut errors);
        if let Some(password) = &form.password {
            check_password(
                password.expose_secret(),
                &[email.as_deref(), username.as_deref()],
                &mut errors,
            );
        } else {
            errors.add("password", "is required");
        }
        match (name, email, form.password) {
            (Some(name), Some(email), Some(password)) if errors.is_empty() => Ok(Self {
                name,
                email,
                password,
                username,
            }),
            _ => Err(errors),
        }
    }
}

/// Checks a new password on its own (for a password change); `context` holds the account's
/// email and username, which may not be used as the password.
pub fn check_new_password(password: &str, context: &[Option<&str>]) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    check_password(password, context, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// An email address as a request names one (`email`): checked and normalised as at registration.
pub fn parse_email(email: Option<&str>) -> Result<String, FieldErrors> {
    let mut errors = FieldErrors::default();
    check_email(email, &mut errors).ok_or(errors)
}

/// Normalises an email address the way it is stored: trimmed and lower-cased.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn check_name(name: Option<&str>, errors: &mut FieldErrors) -> Option<String> {
    let Some(name) = name else {
        errors.add("name", "is required");
        return None;
    };
    let name = name.trim();
    let length = name.chars().count();
    if length == 0 {
        errors.add("name", "must not be empty");
    } else if length > NAME_MAX {
        errors.add("name", format!("must be at most {NAME_MAX} characters"));
    } else if name.chars().any(char::is_control) {
        errors.add("name", "must not contain control characters");
    } else {
        return Some(name.to_owned());
    }
    None
}

fn check_email(email: Option<&str>, errors: &mut FieldErrors) -> Option<String> {
    let Some(email) = email else {
        errors.add("email", "is required");
        return None;
    };
    let email = normalise_email(email);
    if email.is_empty() {
        errors.add("email", "must not be empty");
    } else if email.chars().count() > EMAIL_MAX {
        errors.add("email", format!("must be at most {EMAIL_MAX} characters"));
    } else if email.chars().any(|c| c.is_control() || c.is_whitespace())
        || !email_address::EmailAddress::is_valid(&email)
        || !email.contains('@')
    {
        errors.add("email", "must be a valid email address");
    } else {
        return Some(email);
    }
    None
}

fn check_username(username: Option<&str>, errors: &mut FieldErrors) -> Option<String> {
    // A blank optional field is what a form sends when the user left it empty.
    let username = username.map(str::trim).filter(|u| !u.is_empty())?;
    let valid_chars = username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&username.len()) {
        errors.add(
            "username",
            format!("must be {USERNAME_MIN} to {USERNAME_MAX} characters"),
        );
    } else if !valid_chars {
        errors.add(
            "username",
            "may only contain letters A-Z, digits, '.', '_' and '-'",
        );
    } else {
        return Some(username.to_owned());
    }
    None
}

fn check_password(password: &str, context: &[Option<&str>], errors: &mut FieldErrors) {
    let length = password.chars().count();
    if length < PASSWORD_MIN {
        errors.add(
            "password",
            format!("must be at least {PASSWORD_MIN} characters"),
        );
    } else if length > PASSWORD_MAX {
        errors.add(
            "password",
            format!("must be at most {PASSWORD_MAX} characters"),
        );
    } else if common_passwords::is_common(password) {
        errors.add(
            "password",
            "is one of the most common passwords; choose another",
        );
    } else if context
        .iter()
        .flatten()
        .any(|word| is_same_word(password, word))
    {
        errors.add("password", "must not be your email address or username");
    }
}

fn is_same_word(password: &str, word: &str) -> bool {
    let password = password.to_lowercase();
    let word = word.to_lowercase();
    password == word
        || word
            .split_once('@')
            .is_some_and(|(local, _)| local.len() >= PASSWORD_MIN && password == local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, email: &str, password: &str, username: Option<&str>) -> RegistrationForm {
        RegistrationForm {
            name: Some(name.into()),
            email: Some(email.into()),
            password: Some(SecretString::from(password)),
            username: username.map(Into::into),
        }
    }

    #[test]
    fn a_good_registration_is_normalised() {
        let patient = NewPatient::parse(form(
            "  أحمد علي ",
            " Ahmed@Example.COM ",
            "secret-pass",
            Some("patient1"),
        ))
        .expect("valid");
        assert_eq!(patient.name, "أحمد علي");
        assert_eq!(patient.email, "ahmed@example.com");
        assert_eq!(patient.username.as_deref(), Some("patient1"));
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let errors = NewPatient::parse(form(" ", "not-an-email", "short", Some("a b")))
            .expect_err("invalid");
        for field in ["name", "email", "password", "username"] {
            assert!(
                errors.get(field).is_some(),
                "{field} missing from {errors:?}"
            );
        }
    }

    #[test]
    fn missing_fields_are_required() {
        let errors = NewPatient::parse(RegistrationForm::default()).expect_err("invalid");
        assert_eq!(errors.get("name"), Some("is required"));
        assert_eq!(errors.get("email"), Some("is required"));
        assert_eq!(errors.get("password"), Some("is required"));
        assert_eq!(errors.get("username"), None);
    }

    #[test]
    fn password_length_counts_characters_not_bytes() {
        let emoji_128: String = "🔑".repeat(128);
        assert!(NewPatient::parse(form("A", "a@example.com", &emoji_128, None)).is_ok());
        let emoji_129: String = "🔑".repeat(129);
        let errors =
            NewPatient::parse(form("A", "a@example.com", &emoji_129, None)).expect_err("too long");
        assert_eq!(
            errors.get("password"),
            Some("must be at most 128 characters")
        );
        let seven = "ابتثجحخ";
        assert!(NewPatient::parse(form("A", "a@example.com", seven, None)).is_err());
    }

    #[test]
    fn common_passwords_are_refused_case_insensitively() {
        let errors =
            NewPatient::parse(form("A", "a@example.com", "PASSWORD", None)).expect_err("common");
        assert!(errors.get("password").is_some_and(|p| p.contains("common")));
    }

    #[test]
    fn the_email_or_username_is_not_a_password() {
        let errors = NewPatient::parse(form("A", "someone.long@example.com", "Someone.Long", None))
            .expect_err("same");
        assert!(errors.get("password").is_some_and(|p| p.contains("email")));
        let errors = NewPatient::parse(form(
            "A",
            "a@example.com",
            "my.username",
            Some("my.username"),
        ))
        .expect_err("same");
        assert!(errors
            .get("password")
            .is_some_and(|p| p.contains("username")));
    }

    #[test]
    fn names_and_emails_have_limits_and_no_control_characters() {
        let long_name = "x".repeat(101);
        assert!(NewPatient::parse(form(&long_name, "a@example.com", "secret-pass", None)).is_err());
        assert!(NewPatient::parse(form("a\u{0}b", "a@example.com", "secret-pass", None)).is_err());
        let long_email = format!("{}@example.com", "a".repeat(250));
        assert!(NewPatient::parse(form("A", &long_email, "secret-pass", None)).is_err());
        assert!(NewPatient::parse(form("A", "a\u{0}@example.com", "secret-pass", None)).is_err());
        assert!(NewPatient::parse(form("A", "a @example.com", "secret-pass", None)).is_err());
    }

    #[test]
    fn a_blank_username_counts_as_none_and_bad_ones_are_refused() {
        assert_eq!(
            NewPatient::parse(form("A", "a@example.com", "secret-pass", Some("  ")))
                .expect("ok")
                .username,
            None
        );
        for bad in [
            "ab",
            "has space",
            "ünïcode",
            &"u".repeat(51),
            "x'; DROP TABLE patients;--",
        ] {
            assert!(
                NewPatient::parse(form("A", "a@example.com", "secret-pass", Some(bad))).is_err(),
                "{bad}"
            );
        }
    }
}
