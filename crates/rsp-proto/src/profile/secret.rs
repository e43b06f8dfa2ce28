//! A wrapper for key and PIN material read from or written to a profile (SAIP §8.5 PE-PINCodes / PE-PUKCodes,
//! §8.6 PE-AKAParameter): it never prints its content in `Debug` output or logs.

use std::fmt;

/// Secret bytes (Ki, OPc, PIN, PUK). `Debug` shows only the length; [`Secret::expose`] is the one way in.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T: AsRef<[u8]>>(T);

impl<T: AsRef<[u8]>> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret value; call it only where the value is needed (encoding, comparison in tests).
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: AsRef<[u8]>> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes, redacted)", self.0.as_ref().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_show_the_value() {
        let s = Secret::new([0xAB_u8; 16]);
        let shown = format!("{s:?}");
        assert_eq!(shown, "Secret(16 bytes, redacted)");
        assert!(!shown.to_lowercase().contains("ab"));
    }
}
