//! "Is this one of the 10,000 most common passwords?", answered from the ranked password list
//! that ships inside the `zxcvbn` crate (the same list its strength estimator uses).

use zxcvbn::matching::patterns::MatchPattern;

/// How many of the most common passwords are refused (NIST SP 800-63B asks for a blocklist).
const TOP_RANKS: usize = 10_000;

/// No password in the top 10,000 is longer than 18 characters; longer input skips the matcher.
const LONGEST_COMMON: usize = 32;

/// Whether `password`, compared case-insensitively, is one of the most common passwords.
pub(crate) fn is_common(password: &str) -> bool {
    if password.chars().count() > LONGEST_COMMON {
        return false;
    }
    let lowered = password.to_lowercase();
    // One character repeated ("11111111", "aaaaaaaa") is what NIST calls repetitive; zxcvbn
    // explains it as a repeat, not as its list entry.
    let mut chars = lowered.chars();
    if let Some(first) = chars.next() {
        if chars.all(|c| c == first) {
            return true;
        }
    }
    let entropy = zxcvbn::zxcvbn(&lowered, &[]);
    // zxcvbn explains a password as its cheapest sequence of matches. A common password is
    // explained by one entry of its password list covering it all; reversed and l33t spellings
    // of an entry ("drowssap", "p@ssw0rd") count, as they are in the list themselves or as weak.
    match entropy.sequence() {
        [only] if only.i == 0 && only.j + 1 == lowered.chars().count() => match &only.pattern {
            MatchPattern::Dictionary(dict) => {
                is_password_list(&dict.dictionary_name) && dict.rank <= TOP_RANKS
            }
            _ => false,
        },
        _ => false,
    }
}

/// zxcvbn exposes the dictionary of a match but not a path to name its type, so the list is
/// recognised by its `Debug` name.
fn is_password_list(dictionary: &impl std::fmt::Debug) -> bool {
    format!("{dictionary:?}") == "Passwords"
}

#[cfg(test)]
mod tests {
    use super::is_common;

    #[test]
    fn well_known_passwords_are_common_in_any_case() {
        for password in [
            "password",
            "12345678",
            "qwertyuiop",
            "iloveyou",
            "PassWord",
            "Sunshine",
            "trustno1",
            "football",
            "passw0rd",
            "drowssap",
            "11111111",
            "🔐🔐🔐🔐🔐🔐🔐🔐",
        ] {
            assert!(is_common(password), "{password}");
        }
    }

    #[test]
    fn ordinary_passphrases_are_not_common() {
        for password in [
            "secret-pass",
            "correct horse battery staple",
            "Ahmed-2026-tea",
            "كلمة سر طويلة",
            "🔐🌙🔑🌿🔐🌙🔑🌿",
        ] {
            assert!(!is_common(password), "{password}");
        }
    }
}
