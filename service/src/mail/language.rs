//! Which language a message is written in, chosen from the request's `Accept-Language`.

/// The languages messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// English, left to right (the default).
    #[default]
    English,
    /// Arabic, right to left.
    Arabic,
}

impl Language {
    /// The BCP 47 tag, as written in `lang` attributes and `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::Arabic => "ar",
        }
    }

    /// Whether the script runs right to left.
    pub fn is_right_to_left(self) -> bool {
        self == Self::Arabic
    }

    /// The language a client prefers among ours, from an `Accept-Language` value
    /// (`ar-EG,ar;q=0.9,en;q=0.8`): the highest `q` wins, the first listed on a tie; English
    /// when nothing listed is ours or the header is missing or malformed.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let Some(header) = header else {
            return Self::default();
        };
        let mut best: Option<(Self, u16)> = None;
        for entry in header.split(',').take(32) {
            let mut parts = entry.split(';');
            let range = parts.next().unwrap_or("").trim();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), parse_quality);
            let (Some(language), Some(quality)) = (Self::of_range(range), quality) else {
                continue;
            };
            if quality > 0 && best.is_none_or(|(_, q)| quality > q) {
                best = Some((language, quality));
            }
        }
        best.map(|(language, _)| language).unwrap_or_default()
    }

    /// Ours, for a language range such as `ar`, `ar-EG` or `en-GB` (case-insensitive).
    fn of_range(range: &str) -> Option<Self> {
        let primary = range.split('-').next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::English),
            "ar" => Some(Self::Arabic),
            _ => None,
        }
    }
}

/// A `q` value (`0`, `0.5`, `1.000`) in thousandths; `None` when malformed.
fn parse_quality(text: &str) -> Option<u16> {
    let value: f32 = text.trim().parse().ok()?;
    if !(0.0..=1.0).contains(&value) {
        return None;
    }
    // In range 0..=1000 by the check above.
    Some((value * 1000.0).round() as u16)
}

#[cfg(test)]
mod tests {
    use super::Language::{self, Arabic, English};

    #[test]
    fn the_preferred_language_of_ours_wins() {
        let of = |h: &str| Language::from_accept_language(Some(h));
        assert_eq!(of("ar-EG,ar;q=0.9,en;q=0.8"), Arabic);
        assert_eq!(of("en-GB,en;q=0.9,ar;q=0.8"), English);
        assert_eq!(of("fr-FR,fr;q=0.9,ar;q=0.5"), Arabic);
        assert_eq!(of("en;q=0.4, AR;q=0.6"), Arabic);
        assert_eq!(of("ar;q=0, en;q=0.1"), English);
        assert_eq!(of("de, fr"), English);
        assert_eq!(of("ar;q=2, en;q=banana"), English);
        assert_eq!(of(""), English);
        assert_eq!(Language::from_accept_language(None), English);
    }

    #[test]
    fn a_hostile_header_is_only_read_so_far() {
        let long = "xx;q=0.1,".repeat(10_000) + "ar";
        assert_eq!(Language::from_accept_language(Some(&long)), English);
    }
}
