//! Ingest tokens: `st_pk_` + 26 lowercase Crockford base32 characters.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const TOKEN_PREFIX: &str = "st_pk_";
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const BODY_LEN: usize = 26;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// Ingest only; safe to ship inside an app.
    Public,
    /// Ingest plus its project's admin API and source-map uploads.
    Admin,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Public => "public",
            TokenKind::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "public" => Some(TokenKind::Public),
            "admin" => Some(TokenKind::Admin),
            _ => None,
        }
    }
}

/// Whether a string has the shape of a Sentori token (it may still be unknown).
pub fn is_well_formed(token: &str) -> bool {
    token
        .strip_prefix(TOKEN_PREFIX)
        .is_some_and(|body| body.len() == BODY_LEN && body.bytes().all(|b| ALPHABET.contains(&b)))
}

/// A fresh token from 16 random bytes.
pub fn generate() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    encode(&bytes)
}

/// Encodes 16 bytes as the token string: 5 bits a character, big-endian;
/// the 26th character carries the last 3 bits followed by two zero bits.
pub fn encode(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(TOKEN_PREFIX.len() + BODY_LEN);
    out.push_str(TOKEN_PREFIX);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 0x1f) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 0x1f) as usize] as char);
    }
    out
}

/// Only this digest of a token is ever stored.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_well_formed_and_distinct() {
        let a = generate();
        let b = generate();
        assert!(is_well_formed(&a), "{a}");
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn shape_checks_prefix_length_and_alphabet() {
        assert!(is_well_formed("st_pk_0123456789abcdefghjkmnpqrs"));
        assert!(!is_well_formed("st_pk_0123456789abcdefghjkmnpqr")); // 25 chars
        assert!(!is_well_formed("st_pk_0123456789abcdefghjkmnpqri")); // `i` is not Crockford
        assert!(!is_well_formed("st_pk_0123456789ABCDEFGHJKMNPQRS")); // uppercase
        assert!(!is_well_formed("xx_pk_0123456789abcdefghjkmnpqrs"));
    }

    #[test]
    fn encoding_is_big_endian_five_bits_at_a_time() {
        assert_eq!(encode(&[0; 16]), "st_pk_00000000000000000000000000");
        assert_eq!(encode(&[0xff; 16]), format!("st_pk_{}w", "z".repeat(25)));
        let mut one = [0u8; 16];
        one[0] = 0b0000_1000; // first five bits 00001, next five 00000
        assert_eq!(&encode(&one)[6..8], "10");
    }
}
