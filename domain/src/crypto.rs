//! Encryption of secrets at rest (AES-256-GCM) and random tokens.

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Encrypts and decrypts secrets with a 32-byte key. Ciphertext layout:
/// 12-byte nonce followed by the AES-GCM output.
#[derive(Clone)]
pub struct Cipher {
    key: Key<Aes256Gcm>,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the secret key must be 32 bytes, hex or base64 encoded")]
    BadKey,
    #[error("ciphertext could not be decrypted")]
    Decrypt,
}

impl Cipher {
    /// Builds a cipher from a key given as 64 hex characters or base64 of 32 bytes.
    pub fn from_encoded_key(encoded: &str) -> Result<Self, CryptoError> {
        let encoded = encoded.trim();
        let bytes = hex::decode(encoded)
            .ok()
            .or_else(|| base64::engine::general_purpose::STANDARD.decode(encoded).ok())
            .ok_or(CryptoError::BadKey)?;
        if bytes.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        Ok(Self {
            key: *Key::<Aes256Gcm>::from_slice(&bytes),
        })
    }

    /// A fresh random key, hex encoded, for first runs.
    pub fn generate_encoded_key() -> String {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        hex::encode(k)
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let cipher = Aes256Gcm::new(&self.key);
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce cannot fail.
        out.extend(cipher.encrypt(&nonce, plaintext).unwrap_or_default());
        out
    }

    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if data.len() < 13 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = data.split_at(12);
        Aes256Gcm::new(&self.key)
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// A random URL-safe token with the given prefix, e.g. `mak_…`.
pub fn random_token(prefix: &str) -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// SHA-256 hex of a high-entropy token (tokens are stored only hashed).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_secret_decrypts_only_with_the_same_key() {
        let a = Cipher::from_encoded_key(&Cipher::generate_encoded_key()).unwrap();
        let b = Cipher::from_encoded_key(&Cipher::generate_encoded_key()).unwrap();
        let ct = a.encrypt(b"JBSWY3DPEHPK3PXP");
        assert_ne!(&ct[12..], b"JBSWY3DPEHPK3PXP");
        assert_eq!(a.decrypt(&ct).unwrap(), b"JBSWY3DPEHPK3PXP");
        assert!(b.decrypt(&ct).is_err());
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(Cipher::from_encoded_key("abcd").is_err());
    }

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let t1 = random_token("mak_");
        let t2 = random_token("mak_");
        assert_ne!(t1, t2);
        assert!(t1.starts_with("mak_"));
        assert_eq!(token_hash(&t1), token_hash(&t1));
        assert_eq!(token_hash(&t1).len(), 64);
    }
}
