//! Opaque identifiers on the operator API (tenant isolation, issue 10 item 3).
//!
//! Row ids, audit sequence numbers and batch ids are global sequences: shown as numbers, they tell one operator
//! how much every other operator does ("my batch is 4711, an hour ago it was 4002"). The operator API shows
//! each such number as a 22-character token instead: AES-256 over one block `"rspd.id" || kind || id` (big
//! endian) with a key every node reads from the database (`server_keys`, made on first start), base64url
//! without padding. A token decodes only with that key and only as its own kind, so a token is not a
//! counter, cannot be guessed from a neighbour, and an order id cannot be passed where a campaign id is
//! expected. Tokens are stable for the life of the database (bookmarks and operator back ends may keep them).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openssl::symm::{Cipher, Crypter, Mode};

/// Name of the key in `server_keys` (the server reads it there and hands it to [`OpaqueIds::new`]).
pub const KEY_NAME: &str = "opaque_ids";
const MAGIC: &[u8; 7] = b"rspd.id";

/// What a token stands for; part of the encrypted block, so kinds never mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum IdKind {
    /// An audit-trail `seq`: SSE event ids, audit and history entries, audit cursors.
    AuditEvent = 1,
    /// A profile row (fleet listing cursor).
    Profile = 2,
    /// An ES2+ order row (`/api/v1/orders/{id}`, cursor).
    Es2Order = 3,
    /// An inventory batch.
    Batch = 4,
    /// An eIM order (`/api/v1/eim/orders/{id}`).
    EimOrder = 5,
    /// An eIM campaign.
    Campaign = 6,
    /// An eIM package (event-stream cursor).
    EimPackage = 7,
}

/// Encodes and decodes the operator API's ids.
#[derive(Clone)]
pub struct OpaqueIds {
    key: [u8; 32],
}

impl std::fmt::Debug for OpaqueIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpaqueIds(<key>)")
    }
}

impl OpaqueIds {
    pub fn new(key: [u8; 32]) -> Self {
        OpaqueIds { key }
    }

    fn block(&self, mode: Mode, input: &[u8; 16]) -> Option<[u8; 16]> {
        let mut crypter = Crypter::new(Cipher::aes_256_ecb(), mode, &self.key, None).ok()?;
        crypter.pad(false);
        let mut out = [0u8; 32];
        let n = crypter.update(input, &mut out).ok()?;
        let m = crypter.finalize(&mut out[n..]).ok()?;
        (n + m == 16).then(|| {
            let mut block = [0u8; 16];
            block.copy_from_slice(&out[..16]);
            block
        })
    }

    /// The token for `id` of `kind`.
    pub fn encode(&self, kind: IdKind, id: i64) -> String {
        let mut plain = [0u8; 16];
        plain[..7].copy_from_slice(MAGIC);
        plain[7] = kind as u8;
        plain[8..].copy_from_slice(&id.to_be_bytes());
        // AES on one block with a valid key length cannot fail; an empty token would decode to nothing.
        self.block(Mode::Encrypt, &plain).map(|b| URL_SAFE_NO_PAD.encode(b)).unwrap_or_default()
    }

    /// The id behind a token of `kind`; `None` for anything else (another kind, another server, garbage).
    pub fn decode(&self, kind: IdKind, token: &str) -> Option<i64> {
        let bytes: [u8; 16] = URL_SAFE_NO_PAD.decode(token.trim()).ok()?.try_into().ok()?;
        let plain = self.block(Mode::Decrypt, &bytes)?;
        if &plain[..7] != MAGIC || plain[7] != kind as u8 {
            return None;
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&plain[8..]);
        Some(i64::from_be_bytes(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_per_kind_and_key() {
        let ids = OpaqueIds::new([7; 32]);
        let t = ids.encode(IdKind::EimOrder, 42);
        assert_eq!(t.len(), 22);
        assert_eq!(ids.decode(IdKind::EimOrder, &t), Some(42));
        assert_eq!(ids.decode(IdKind::Campaign, &t), None, "kinds do not mix");
        assert_eq!(OpaqueIds::new([8; 32]).decode(IdKind::EimOrder, &t), None, "another server's key");
        assert_eq!(ids.decode(IdKind::EimOrder, "42"), None);
        assert_eq!(ids.decode(IdKind::EimOrder, ""), None);
        assert_eq!(ids.decode(IdKind::EimOrder, "%%%"), None);
        assert_ne!(ids.encode(IdKind::EimOrder, 43)[..8], t[..8], "neighbours look unrelated");
        assert_eq!(ids.encode(IdKind::EimOrder, 42), t, "stable");
    }
}
