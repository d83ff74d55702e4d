//! The messages a patient receives: plain text and HTML, in English or Arabic, with the link
//! printed as text too. No images, no tracking, nothing fetched from elsewhere when opened.

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use super::language::Language;
use super::MailError;

/// Who messages come from and where their links point.
#[derive(Debug, Clone)]
pub struct MailIdentity {
    /// `MAIL_FROM`: the `From` of every message and the envelope sender.
    pub from: Mailbox,
    /// `PUBLIC_APP_URL`: the frontend's address, without a trailing `/`.
    pub app_url: String,
}

impl Default for MailIdentity {
    fn default() -> Self {
        Self {
            from: Mailbox::new(
                Some("patient-auth".to_owned()),
                // A literal that is a valid address; `new` would only check that again.
                lettre::Address::new_dangerous("no-reply", "localhost"),
            ),
            app_url: "http://localhost:5173".to_owned(),
        }
    }
}

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// A password-reset link.
    PasswordReset,
    /// An email-verification link.
    EmailVerification,
    /// "Your password was changed."
    PasswordChanged,
    /// "A recovery code was used to sign in."
    RecoveryCodeUsed,
    /// "A passkey was added to your account."
    PasskeyAdded,
}

impl MailKind {
    /// The code stored in `mail_outbox.kind`.
    pub fn code(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
            Self::PasswordChanged => "password_changed",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::PasskeyAdded => "passkey_added",
        }
    }
}

/// A message to compose, with what it needs to say.
#[derive(Debug)]
pub enum Notice<'a> {
    /// A reset link, valid for `minutes`.
    PasswordReset {
        /// The token for the link's fragment.
        token: &'a str,
        /// How long the link works.
        minutes: i64,
    },
    /// A verification link, valid for `hours`.
    EmailVerification {
        /// The token for the link's fragment.
        token: &'a str,
        /// How long the link works.
        hours: i64,
    },
    /// The password was changed at `at`.
    PasswordChanged {
        /// When.
        at: DateTime<Utc>,
    },
    /// A recovery code signed the patient in at `at`.
    RecoveryCodeUsed {
        /// When.
        at: DateTime<Utc>,
    },
    /// A passkey was added to the account at `at`.
    PasskeyAdded {
        /// When.
        at: DateTime<Utc>,
    },
}

impl Notice<'_> {
    /// Its kind.
    pub fn kind(&self) -> MailKind {
        match self {
            Self::PasswordReset { .. } => MailKind::PasswordReset,
            Self::EmailVerification { .. } => MailKind::EmailVerification,
            Self::PasswordChanged { .. } => MailKind::PasswordChanged,
            Self::RecoveryCodeUsed { .. } => MailKind::RecoveryCodeUsed,
            Self::PasskeyAdded { .. } => MailKind::PasskeyAdded,
        }
    }
}

/// A composed message, ready for the outbox.
pub struct Composed {
    /// Its kind.
    pub kind: MailKind,
    /// The recipient's address.
    pub recipient: String,
    /// The whole RFC 5322 message (UTF-8, `8bit` parts).
    pub message: String,
}

impl std::fmt::Debug for Composed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Composed")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The words of one message, before they are laid out as text and HTML.
struct Words {
    subject: &'static str,
    greeting: String,
    before_link: String,
    link: Option<String>,
    after_link: Vec<String>,
}

/// Composes `notice` for `name <email>` in `language`.
pub fn compose(
    identity: &MailIdentity,
    name: &str,
    email: &str,
    language: Language,
    notice: &Notice<'_>,
) -> Result<Composed, MailError> {
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    let words = words(identity, &name, language, notice);
    let to = Mailbox::new(
        Some(name.clone()),
        email
            .parse()
            .map_err(|_| MailError::Recipient(email.to_owned()))?,
    );
    let message = Message::builder()
        .from(identity.from.clone())
        .to(to)
        .subject(words.subject)
        .message_id(Some(message_id(identity)))
        .date_now()
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Content-Language"),
            language.tag().to_owned(),
        ))
        .multipart(
            MultiPart::alternative()
                .singlepart(part(ContentType::TEXT_PLAIN, plain_text(&words)))
                .singlepart(part(ContentType::TEXT_HTML, html(&words, language))),
        )
        .map_err(|e| MailError::Compose(e.to_string()))?;
    let message = String::from_utf8(message.formatted())
        .map_err(|_| MailError::Compose("the formatted message is not UTF-8".to_owned()))?;
    Ok(Composed {
        kind: notice.kind(),
        recipient: email.to_owned(),
        message,
    })
}

/// Longest line of an `8bit` part (RFC 5322's limit, without the CRLF).
const LINE_MAX: usize = 998;

/// A part written as it reads (`8bit`, CRLF line ends: the link stays whole when the `.eml` is
/// read as text), or quoted-printable should a line ever be too long for that.
fn part(content_type: ContentType, text: String) -> SinglePart {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let fits = !crlf.contains('\0') && crlf.split("\r\n").all(|line| line.len() <= LINE_MAX);
    let body = if fits {
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit)
    } else {
        Body::new(text)
    };
    SinglePart::builder().header(content_type).body(body)
}

/// `paragraph` broken into lines of at most `width` characters, at spaces.
fn wrap(paragraph: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in paragraph.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.join("\n")
}

/// `<random@domain-of-MAIL_FROM>`.
fn message_id(identity: &MailIdentity) -> String {
    format!(
        "<{}@{}>",
        uuid::Uuid::new_v4().simple(),
        identity.from.email.domain()
    )
}

fn words(identity: &MailIdentity, name: &str, language: Language, notice: &Notice<'_>) -> Words {
    let app = &identity.app_url;
    match (language, notice) {
        (Language::English, Notice::PasswordReset { token, minutes }) => Words {
            subject: "Reset your password",
            greeting: format!("Hello {name},"),
            before_link: format!(
                "Someone, hopefully you, asked to reset the password of your patient account. \
                 To choose a new password, open this link within {minutes} minutes:"
            ),
            link: Some(format!("{app}/reset-password#token={token}")),
            after_link: vec![
                "The link works once. If you did not ask for this, ignore this message: your \
                 password stays as it is."
                    .to_owned(),
            ],
        },
        (Language::Arabic, Notice::PasswordReset { token, minutes }) => Words {
            subject: "إعادة تعيين كلمة المرور",
            greeting: format!("مرحبًا {name}،"),
            before_link: format!(
                "طلب أحدهم، ونأمل أن تكون أنت، إعادة تعيين كلمة مرور حسابك. لاختيار كلمة مرور \
                 جديدة، افتح هذا الرابط خلال {minutes} دقيقة:"
            ),
            link: Some(format!("{app}/reset-password#token={token}")),
            after_link: vec![
                "يعمل الرابط مرة واحدة فقط. إذا لم تطلب ذلك، فتجاهل هذه الرسالة: تبقى كلمة مرورك \
                 كما هي."
                    .to_owned(),
            ],
        },
        (Language::English, Notice::EmailVerification { token, hours }) => Words {
            subject: "Confirm your email address",
            greeting: format!("Hello {name},"),
            before_link: format!(
                "Please confirm that this address belongs to you by opening this link within \
                 {hours} hours:"
            ),
            link: Some(format!("{app}/verify-email#token={token}")),
            after_link: vec![
                "If you did not create a patient account, ignore this message.".to_owned(),
            ],
        },
        (Language::Arabic, Notice::EmailVerification { token, hours }) => Words {
            subject: "تأكيد عنوان بريدك الإلكتروني",
            greeting: format!("مرحبًا {name}،"),
            before_link: format!(
                "يرجى تأكيد أن هذا العنوان يخصك بفتح هذا الرابط خلال {hours} ساعة:"
            ),
            link: Some(format!("{app}/verify-email#token={token}")),
            after_link: vec!["إذا لم تنشئ حسابًا، فتجاهل هذه الرسالة.".to_owned()],
        },
        (Language::English, Notice::PasswordChanged { at }) => Words {
            subject: "Your password was changed",
            greeting: format!("Hello {name},"),
            before_link: format!(
                "The password of your patient account was changed on {} (UTC). If this was \
                 you, there is nothing to do. If it was not, choose a new password at once \
                 here, and contact support:",
                at.format("%Y-%m-%d %H:%M")
            ),
            link: Some(format!("{app}/forgot-password")),
            after_link: Vec::new(),
        },
        (Language::Arabic, Notice::PasswordChanged { at }) => Words {
            subject: "تم تغيير كلمة المرور",
            greeting: format!("مرحبًا {name}،"),
            before_link: format!(
                "تم تغيير كلمة مرور حسابك في {} (بالتوقيت العالمي). إذا كنت أنت من قام بذلك، فلا \
                 حاجة لأي إجراء. وإن لم تكن أنت، فاختر كلمة مرور جديدة فورًا من هنا، وتواصل مع \
                 الدعم:",
                at.format("%Y-%m-%d %H:%M")
            ),
            link: Some(format!("{app}/forgot-password")),
            after_link: Vec::new(),
        },
        (Language::English, Notice::RecoveryCodeUsed { at }) => Words {
            subject: "A recovery code was used to sign in",
            greeting: format!("Hello {name},"),
            before_link: format!(
                "One of your recovery codes was used to sign in to your patient account on {} \
                 (UTC), and every other device was signed out. If this was you, nothing else is \
                 needed (each code works once; you can make new ones in the app). If it was \
                 not, choose a new password at once here, and contact support:",
                at.format("%Y-%m-%d %H:%M")
            ),
            link: Some(format!("{app}/forgot-password")),
            after_link: Vec::new(),
        },
        (Language::Arabic, Notice::RecoveryCodeUsed { at }) => Words {
            subject: "تم استخدام رمز استرداد لتسجيل الدخول",
            greeting: format!("مرحبًا {name}،"),
            before_link: format!(
                "استُخدم أحد رموز الاسترداد لتسجيل الدخول إلى حسابك في {} (بالتوقيت العالمي)، وتم \
                 تسجيل الخروج من كل الأجهزة الأخرى. إذا كنت أنت، فلا حاجة لشيء آخر (يعمل كل رمز \
                 مرة واحدة، ويمكنك إنشاء رموز جديدة في التطبيق). وإن لم تكن أنت، فاختر كلمة مرور \
                 جديدة فورًا من هنا، وتواصل مع الدعم:",
                at.format("%Y-%m-%d %H:%M")
            ),
            link: Some(format!("{app}/forgot-password")),
            after_link: Vec::new(),
        },
        (Language::English, Notice::PasskeyAdded { at }) => Words {
            subject: "A passkey was added to your account",
            greeting: format!("Hello {name},"),
            before_link: format!(
                "A passkey was added to your patient account on {} (UTC). If this was you, \
                 nothing else is needed. If it was not, someone knows your password: choose a \
                 new one at once here, remove the passkey in the app, and contact support:",
                at.format("%Y-%m-%d %H:%M")
            ),
            link: Some(format!("{app}/forgot-password")),
            after_link: Vec::new(),
        },
        (Language::Arabic, Notice::PasskeyAdded { at }) => Words {
            subject: "تمت إضافة مفتاح مرور إلى حسابك",
            greeting: format!("مرحبًا {name}،"),
            before_link: format!(
                "تمت إضافة مفتاح مرور إلى حسابك في {} (بالتوقيت العالمي). إذا كنت أنت، فلا حاجة \
                 لشيء آخر. وإن لم تكن أنت، فهناك من يعرف كلمة مرورك: اختر كلمة مرور جديدة فورًا \
                 من هنا، واحذف مفتاح المرور من التطبيق، وتواصل مع الدعم:",
                at.format("%Y-%m-%d %H:%M")
            ),
            link: Some(format!("{app}/forgot-password")),
            after_link: Vec::new(),
        },
    }
}

/// Columns of the plain-text part.
const TEXT_WIDTH: usize = 72;

fn plain_text(words: &Words) -> String {
    let mut text = format!(
        "{}\n\n{}\n\n",
        wrap(&words.greeting, TEXT_WIDTH),
        wrap(&words.before_link, TEXT_WIDTH)
    );
    if let Some(link) = &words.link {
        text.push_str(link);
        text.push_str("\n\n");
    }
    for paragraph in &words.after_link {
        text.push_str(&wrap(paragraph, TEXT_WIDTH));
        text.push_str("\n\n");
    }
    text
}

fn html(words: &Words, language: Language) -> String {
    let dir = if language.is_right_to_left() {
        "rtl"
    } else {
        "ltr"
    };
    let mut body = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\" dir=\"{dir}\">\n<head><meta charset=\"utf-8\">\
         <title>{subject}</title></head>\n<body style=\"font-family: sans-serif; line-height: 1.5\">\n\
         <p>{greeting}</p>\n<p>{before}</p>\n",
        lang = language.tag(),
        subject = escape(words.subject),
        greeting = escape(&words.greeting),
        before = escape(&words.before_link),
    );
    if let Some(link) = &words.link {
        let link = escape(link);
        // A URL reads left to right in either script.
        body.push_str(&format!(
            "<p><a href=\"{link}\">{link}</a></p>\n<p dir=\"ltr\" style=\"font-family: monospace\">{link}</p>\n"
        ));
    }
    for paragraph in &words.after_link {
        body.push_str(&format!("<p>{}</p>\n", escape(paragraph)));
    }
    body.push_str("</body>\n</html>\n");
    body
}

/// Text as HTML character data or attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reset(language: Language, name: &str) -> String {
        compose(
            &MailIdentity::default(),
            name,
            "ahmed@example.com",
            language,
            &Notice::PasswordReset {
                token: "tok_EN-123",
                minutes: 30,
            },
        )
        .expect("composed")
        .message
    }

    #[test]
    fn a_reset_message_has_both_parts_and_the_link_as_text() {
        let message = reset(Language::English, "Ahmed Ali");
        assert!(message.contains("Subject: Reset your password"));
        assert!(message.contains("multipart/alternative"));
        assert!(message.contains("text/plain"));
        assert!(message.contains("text/html"));
        assert!(message.contains("Auto-Submitted: auto-generated"));
        assert!(message.contains("Content-Transfer-Encoding: 8bit"));
        assert!(
            message.contains("\r\nhttp://localhost:5173/reset-password#token=tok_EN-123\r\n"),
            "the link is whole, on a line of its own"
        );
        let decoded = message;
        assert!(!decoded.contains("<img"), "no images, no tracking pixels");
    }

    #[test]
    fn the_arabic_message_runs_right_to_left() {
        let decoded = reset(Language::Arabic, "أحمد علي");
        assert!(decoded.contains("dir=\"rtl\""));
        assert!(decoded.contains("lang=\"ar\""));
        assert!(decoded.contains("مرحبًا أحمد علي"));
        assert!(decoded.contains("<p dir=\"ltr\""));
    }

    #[test]
    fn the_passkey_notice_says_when_and_how_to_get_back_in_both_languages() {
        let at = DateTime::parse_from_rfc3339("2026-12-03T10:05:00Z")
            .expect("time")
            .with_timezone(&Utc);
        for (language, words) in [
            (
                Language::English,
                "A passkey was added to your patient account",
            ),
            (Language::Arabic, "تمت إضافة مفتاح مرور إلى حسابك"),
        ] {
            let composed = compose(
                &MailIdentity::default(),
                "Ahmed Ali",
                "ahmed@example.com",
                language,
                &Notice::PasskeyAdded { at },
            )
            .expect("composed");
            assert_eq!(composed.kind, MailKind::PasskeyAdded);
            assert!(composed.message.contains(words), "{language:?}");
            assert!(
                composed.message.contains("2026-12-03 10:05"),
                "{language:?}"
            );
            assert!(
                composed.message.contains("/forgot-password"),
                "{language:?}"
            );
        }
    }

    #[test]
    fn paragraphs_wrap_at_spaces() {
        assert_eq!(wrap("aaa bbb ccc", 7), "aaa bbb\nccc");
        assert_eq!(wrap("a-very-long-word x", 4), "a-very-long-word\nx");
        assert_eq!(wrap("", 10), "");
    }

    #[test]
    fn a_name_cannot_inject_html_or_headers() {
        let message = reset(
            Language::English,
            "<script>alert(1)</script>\r\nBcc: evil@example.com",
        );
        let html = &message[message.find("text/html").expect("an HTML part")..];
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!message.contains("\r\nBcc:"));
    }
}
