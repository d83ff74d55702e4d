//! Recovery codes: ten single-use codes shown once, for a patient without their phone; stored
//! only as keyed hashes.

use super::secret_box::SecretBox;

/// Codes handed out at a time.
pub const COUNT: usize = 10;
/// Characters of a code's halves (`xxxxx-xxxxx`: 50 random bits).
const HALF: usize = 5;
/// Letters and digits that cannot be mistaken for one another when typed from paper.
const ALPHABET: &[u8; 32] = b"23456789abcdefghjkmnpqrstuvwxyz0";

/// `COUNT` new codes, as the patient sees them.
pub fn generate() -> Result<Vec<String>, getrandom::Error> {
    let mut codes = Vec::with_capacity(COUNT);
    for _ in 0..COUNT {
        let mut bytes = [0u8; 2 * HALF];
        getrandom::fill(&mut bytes)?;
        let chars: String = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
            .collect();
        codes.push(format!("{}-{}", &chars[..HALF], &chars[HALF..]));
    }
    Ok(codes)
}

/// A typed code as it is hashed: lower case, without spaces or dashes; `None` when it cannot be
/// a code at all.
pub fn normalise(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == 2 * HALF && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// The stored form of a code.
pub fn hash(secret_box: &SecretBox, typed: &str) -> Option<String> {
    normalise(typed).map(|code| secret_box.keyed_hash(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_distinct_readable_ones() {
        let codes = generate().expect("random");
        assert_eq!(codes.len(), COUNT);
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), COUNT);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert_eq!(normalise(code).map(|c| c.len()), Some(10), "{code}");
            assert!(!code.contains(['1', 'l', 'o', 'i']), "{code}");
        }
    }

    #[test]
    fn typing_variations_hash_alike_and_junk_not_at_all() {
        let secret_box = SecretBox::new(
            &[7u8; 31]
                .iter()
                .chain(&[8u8])
                .copied()
                .collect::<Vec<_>>()
                .try_into()
                .expect("32"),
        )
        .expect("box");
        assert_eq!(
            hash(&secret_box, "abcde-fghjk"),
            hash(&secret_box, " ABCDE FGHJK ")
        );
        assert_eq!(hash(&secret_box, "abcde-fghj"), None);
        assert_eq!(hash(&secret_box, "'; drop--"), None);
    }
}
