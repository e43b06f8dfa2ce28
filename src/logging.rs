//! The process log (standard error): `log.format = "text"` for people, `"json"` for collectors.
//!
//! Log lines carry strings that peers and operators chose (an `smdpAddress`, a certificate subject, a reason
//! from an error built around received bytes). In the text format a newline inside such a value would end the
//! line and let the sender write a forged one (`evil.example\n2026-…  INFO rspd::cli: …`, issue 10 item 6). So the
//! text format writes every field value, the message included, with control characters (and the Unicode line
//! and paragraph separators) escaped: one event is always one line. The JSON format escapes by construction.
//!
//! Subscriber identifiers — ICCID, EID, IMEI, matchingId — are personal data (issue 10 item 9): log lines above
//! debug show them as [`pii`] digests, `#` and 12 hex digits of SHA-256(key ‖ value) under a key every node reads
//! from the database, so lines about one profile still correlate across nodes and `rspd log-digest VALUE` finds
//! them, but a log file alone gives no identifier away (the key defeats a dictionary of the few billion ICCIDs).
use std::fmt::Write as _;
use std::sync::OnceLock;

use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{FormatFields, Writer};

/// Name of the key in `server_keys`.
pub const IDENTIFIER_KEY_NAME: &str = "log_identifiers";

static IDENTIFIER_KEY: OnceLock<[u8; 32]> = OnceLock::new();

/// Sets the key of [`pii`] digests for this process (at start, from the store; once).
pub fn set_identifier_key(key: [u8; 32]) {
    let _ = IDENTIFIER_KEY.set(key);
}

/// The digest of `value` under `key`: `#` and the first 12 hex digits of SHA-256(key ‖ value).
pub fn identifier_digest(key: &[u8; 32], value: &str) -> String {
    let mut hasher = openssl::sha::Sha256::new();
    hasher.update(key);
    hasher.update(value.as_bytes());
    let digest = hex::encode(hasher.finish());
    format!("#{}", &digest[..12])
}

/// A subscriber identifier as a log line shows it: its keyed digest (`#<unkeyed>` before the key is set, e.g. in
/// a CLI command that opened no store — never the value).
pub struct Pii<'a>(&'a str);

/// Wraps an identifier for a log field: `tracing::info!(iccid = %pii(&iccid), …)`.
pub fn pii(value: &str) -> Pii<'_> {
    Pii(value)
}

impl std::fmt::Display for Pii<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match IDENTIFIER_KEY.get() {
            Some(key) => f.write_str(&identifier_digest(key, self.0)),
            None => f.write_str("#<unkeyed>"),
        }
    }
}

/// The variant name of an error enum (from its derived `Debug`): what a log line above debug says of an error
/// whose text may name a subscriber (`MatchingIdRefused`, `EidMismatch`).
pub fn variant(error: &dyn std::fmt::Debug) -> String {
    let text = format!("{error:?}");
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or_default().to_owned()
}

/// `value` with every control character, U+2028 and U+2029 written as a Rust escape (`\n`, `\u{1b}`).
pub fn escape_controls(value: &str) -> std::borrow::Cow<'_, str> {
    let needs = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    if !value.chars().any(needs) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if needs(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The field formatter of the text format: `name=value` pairs separated by spaces, the message bare, each value
/// with its control characters escaped.
pub fn text_fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    tracing_subscriber::fmt::format::debug_fn(|writer: &mut Writer<'_>, field, value| {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        let text = escape_controls(&text);
        if field.name() == "message" {
            writer.write_str(&text)
        } else {
            write!(writer, "{}={text}", field.name())
        }
    })
    .delimited(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_newline_in_a_value_cannot_start_a_forged_line() {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .fmt_fields(text_fields())
            .finish();
        let forged = "evil.example\n2026-12-03T07:00:00Z  INFO rspd::cli: FORGED\r\u{1b}[2K\u{2028}";
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(address = %forged, debug = ?forged, "refused {}", forged);
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "one event, one line: {text}");
        assert!(text.ends_with('\n'));
        assert!(
            text.contains(r"address=evil.example\n2026-12-03T07:00:00Z  INFO rspd::cli: FORGED\r\u{1b}[2K\u{2028}"),
            "{text}"
        );
        assert!(text.contains(r"refused evil.example\n2026"), "the message too: {text}");
        assert!(!text.contains('\r') && !text.contains('\u{1b}') && !text.contains('\u{2028}'), "{text}");
    }

    #[test]
    fn identifiers_are_keyed_digests() {
        let a = identifier_digest(&[1; 32], "89049032123451234512345678901235");
        assert_eq!(a.len(), 13);
        assert!(a.starts_with('#') && !a.contains("8904903212345"), "{a}");
        assert_ne!(a, identifier_digest(&[2; 32], "89049032123451234512345678901235"), "keyed");
        assert_eq!(a, identifier_digest(&[1; 32], "89049032123451234512345678901235"), "stable");
        #[derive(Debug)]
        #[allow(dead_code)]
        enum E {
            MatchingIdRefused(String),
            Eid { eid: String },
        }
        assert_eq!(variant(&E::MatchingIdRefused("K7M3".into())), "MatchingIdRefused");
        assert_eq!(variant(&E::Eid { eid: "8904".into() }), "Eid");
    }

    #[test]
    fn plain_values_are_unchanged() {
        assert!(matches!(escape_controls("CN=acme, O=ACME Mobile"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(escape_controls("a\tb"), r"a\tb");
    }
}
