//! Encryption of secrets at rest (OAuth tokens) with AES-256-GCM under a key ring.
//!
//! Each ciphertext records the id of the key that sealed it, so keys rotate without downtime:
//! new secrets use the active key, old ones decrypt with the key named on their row. A random
//! 96-bit nonce is drawn per message, and the associated data binds the ciphertext to its
//! tenant and row, so a ciphertext copied onto another row or tenant does not decrypt.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, Generate, Key, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::config::CryptoConfig;

/// A sealed secret as stored in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("crypto.keys: no key with id {0:?}")]
    UnknownKey(String),
    #[error("crypto.keys.{0}: must be 32 bytes encoded in base64")]
    BadKey(String),
    #[error("secret could not be decrypted (wrong key, tampered data or wrong owner)")]
    Decrypt,
    #[error("secret could not be encrypted")]
    Encrypt,
}

/// Encryption keys by id, and the id of the one that seals new secrets.
#[derive(Clone)]
pub struct KeyRing {
    active: String,
    keys: BTreeMap<String, Aes256Gcm>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeyRing {
    pub fn from_config(config: &CryptoConfig) -> Result<Self, CryptoError> {
        let mut keys = BTreeMap::new();
        for (id, secret) in &config.keys {
            let bytes = BASE64
                .decode(secret.expose().trim())
                .map_err(|_| CryptoError::BadKey(id.clone()))?;
            let key = Key::<Aes256Gcm>::try_from(bytes.as_slice())
                .map_err(|_| CryptoError::BadKey(id.clone()))?;
            keys.insert(id.clone(), Aes256Gcm::new(&key));
        }
        if !keys.contains_key(&config.active_key_id) {
            return Err(CryptoError::UnknownKey(config.active_key_id.clone()));
        }
        Ok(Self {
            active: config.active_key_id.clone(),
            keys,
        })
    }

    /// A fresh random key, base64-encoded, for `ADSYNC__CRYPTO__KEYS__<ID>`.
    pub fn generate_key() -> String {
        BASE64.encode(Key::<Aes256Gcm>::generate())
    }

    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    /// Seals `plaintext` with the active key; `associated_data` must be given again to open it.
    pub fn seal(&self, plaintext: &[u8], associated_data: &[u8]) -> Result<Sealed, CryptoError> {
        let cipher = self
            .keys
            .get(&self.active)
            .ok_or_else(|| CryptoError::UnknownKey(self.active.clone()))?;
        let nonce = Nonce::generate();
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: associated_data,
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        Ok(Sealed {
            key_id: self.active.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    pub fn open(&self, sealed: &Sealed, associated_data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = self
            .keys
            .get(&sealed.key_id)
            .ok_or_else(|| CryptoError::UnknownKey(sealed.key_id.clone()))?;
        let nonce = Nonce::try_from(sealed.nonce.as_slice()).map_err(|_| CryptoError::Decrypt)?;
        cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &sealed.ciphertext,
                    aad: associated_data,
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn ring(active: &str, ids: &[&str]) -> KeyRing {
        let keys = ids
            .iter()
            .map(|id| (id.to_string(), Secret::new(KeyRing::generate_key())))
            .collect();
        KeyRing::from_config(&CryptoConfig {
            active_key_id: active.to_string(),
            keys,
        })
        .unwrap()
    }

    #[test]
    fn sealed_secrets_open_with_the_same_associated_data_only() {
        let ring = ring("k1", &["k1"]);
        let sealed = ring.seal(b"token-123", b"tenant-a/connection-1").unwrap();
        assert_eq!(sealed.key_id, "k1");
        assert!(!sealed.ciphertext.windows(9).any(|w| w == b"token-123"));
        assert_eq!(
            ring.open(&sealed, b"tenant-a/connection-1").unwrap(),
            b"token-123"
        );
        assert_eq!(
            ring.open(&sealed, b"tenant-b/connection-1"),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let ring = ring("k1", &["k1"]);
        let a = ring.seal(b"same", b"ad").unwrap();
        let b = ring.seal(b"same", b"ad").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn tampered_ciphertext_does_not_open() {
        let ring = ring("k1", &["k1"]);
        let mut sealed = ring.seal(b"secret", b"ad").unwrap();
        sealed.ciphertext[0] ^= 1;
        assert_eq!(ring.open(&sealed, b"ad"), Err(CryptoError::Decrypt));
    }

    #[test]
    fn a_secret_sealed_under_an_unknown_key_names_the_key() {
        let ring = ring("k1", &["k1"]);
        let mut sealed = ring.seal(b"secret", b"ad").unwrap();
        sealed.key_id = "old".into();
        assert_eq!(
            ring.open(&sealed, b"ad"),
            Err(CryptoError::UnknownKey("old".into()))
        );
    }

    #[test]
    fn config_errors_name_the_key() {
        let bad = KeyRing::from_config(&CryptoConfig {
            active_key_id: "k1".into(),
            keys: [("k1".to_string(), Secret::new("dG9vIHNob3J0"))].into(),
        })
        .unwrap_err();
        assert_eq!(bad, CryptoError::BadKey("k1".into()));
        let missing = KeyRing::from_config(&CryptoConfig {
            active_key_id: "k2".into(),
            keys: BTreeMap::new(),
        })
        .unwrap_err();
        assert_eq!(missing.to_string(), "crypto.keys: no key with id \"k2\"");
    }
}
