//! Who may use the moderators' page and the publish hook: passwords, signed session
//! cookies, CSRF tokens and GitHub-style HMAC signatures (pure, no I/O).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("the password hash of moderator `{name}` is not a PHC string ({reason}); make one with `papercast moderators hash-password`")]
    BadHash { name: String, reason: String },
    #[error("could not read random bytes from the operating system: {0}")]
    Random(String),
}

/// Hashes a password for the config file (Argon2id, PHC string format).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Random(e.to_string()))
}

/// Checks `password` against a stored PHC hash.
pub fn verify_password(name: &str, phc: &str, password: &str) -> Result<bool, AuthError> {
    use argon2::password_hash::{phc::PasswordHash, PasswordVerifier};
    let hash = PasswordHash::new(phc).map_err(|e| AuthError::BadHash {
        name: name.into(),
        reason: e.to_string(),
    })?;
    Ok(argon2::Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok())
}

/// Checks passwords like [`verify_password`], with one Argon2 memory buffer kept for
/// every check. Argon2 needs ~19 MiB per check; allocated afresh each time, glibc keeps
/// much of it per thread after the free, and a login flood grows the process by
/// hundreds of MiB. One reused buffer per checking thread keeps memory flat.
#[derive(Default)]
pub struct PasswordChecker {
    blocks: Vec<argon2::Block>,
}

impl PasswordChecker {
    pub fn verify(&mut self, name: &str, phc: &str, password: &str) -> Result<bool, AuthError> {
        use argon2::password_hash::phc::PasswordHash;
        let bad = |reason: String| AuthError::BadHash {
            name: name.into(),
            reason,
        };
        let hash = PasswordHash::new(phc).map_err(|e| bad(e.to_string()))?;
        let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
            return Err(bad("it has no salt or no hash".into()));
        };
        let params = argon2::Params::try_from(&hash).map_err(|e| bad(e.to_string()))?;
        let algorithm =
            argon2::Algorithm::try_from(hash.algorithm.as_str()).map_err(|e| bad(e.to_string()))?;
        let version = hash
            .version
            .map(argon2::Version::try_from)
            .transpose()
            .map_err(|e| bad(e.to_string()))?
            .unwrap_or_default();
        let blocks = params.block_count();
        if self.blocks.len() < blocks {
            self.blocks.resize(blocks, argon2::Block::default());
        }
        let mut computed = vec![0u8; expected.len()];
        let hashed = argon2::Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt.as_ref(),
                &mut computed,
                &mut self.blocks[..blocks],
            );
        // A password Argon2 cannot take (too long) is simply not the right one.
        Ok(hashed.is_ok() && bool::from(computed.as_slice().ct_eq(expected.as_bytes())))
    }
}

/// Random bytes as hex, for secrets made at start-up.
pub fn random_hex(bytes: usize) -> Result<String, AuthError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(hex::encode(buffer))
}

/// Signs and checks session cookies and CSRF tokens with one server secret.
///
/// A session is `name.issued.expiry.mac`, the MAC also covering the moderator's
/// password hash: stateless, so sessions survive a restart when the secret is
/// configured, and a changed password ends every session made with the old one.
/// Logout is the one thing a signature cannot express; the server keeps, per moderator,
/// the time of the last logout and refuses sessions issued before it
/// ([`Sessions::end_all`]).
#[derive(Clone)]
pub struct Sessions {
    secret: Vec<u8>,
    lifetime: Duration,
    /// Per moderator: sessions issued at or before this time (ms since the epoch) ended.
    ended: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u128>>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("secret", &"<hidden>")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

impl Sessions {
    pub fn new(secret: &[u8], lifetime: Duration) -> Self {
        Sessions {
            secret: secret.to_vec(),
            lifetime,
            ended: Default::default(),
        }
    }

    fn mac(&self, parts: &[&str]) -> String {
        // A key of any length is accepted by HMAC.
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(b"\0");
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// A session cookie value for moderator `name` whose password hash is `credential`,
    /// valid from `now` for the lifetime.
    pub fn issue(&self, name: &str, credential: &str, now: SystemTime) -> String {
        let issued = millis(now).to_string();
        let expiry = (seconds(now) + self.lifetime.as_secs()).to_string();
        let mac = self.mac(&["session", name, &issued, &expiry, credential]);
        format!("{name}.{issued}.{expiry}.{mac}")
    }

    /// The moderator a session cookie belongs to, if it is genuine, not expired, made
    /// with the moderator's current password hash (`credential_of`) and not ended by a
    /// logout.
    pub fn verify<'a>(
        &self,
        cookie: &str,
        now: SystemTime,
        credential_of: impl Fn(&str) -> Option<&'a str>,
    ) -> Option<String> {
        let mut parts = cookie.rsplitn(4, '.');
        let (mac, expiry, issued, name) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let credential = credential_of(name)?;
        let expected = self.mac(&["session", name, issued, expiry, credential]);
        let genuine: bool = expected.as_bytes().ct_eq(mac.as_bytes()).into();
        let fresh = expiry.parse::<u64>().ok()? > seconds(now);
        let issued = issued.parse::<u128>().ok()?;
        let ended = self
            .ended
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .is_some_and(|&ended| issued <= ended);
        (genuine && fresh && !ended).then(|| name.to_owned())
    }

    /// When a session cookie says it was issued (ms since the epoch); trust it only
    /// after [`Sessions::verify`].
    pub fn issued_millis(cookie: &str) -> Option<u128> {
        cookie.rsplit('.').nth(2)?.parse().ok()
    }

    /// Ends every session of `name` issued up to `now` (logout).
    pub fn end_all(&self, name: &str, now: SystemTime) {
        self.ended
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), millis(now));
    }

    /// The CSRF token for a session: forms carry it, and a POST without it is refused.
    pub fn csrf_token(&self, session: &str) -> String {
        self.mac(&["csrf", session])
    }

    pub fn verify_csrf(&self, session: &str, token: &str) -> bool {
        self.csrf_token(session)
            .as_bytes()
            .ct_eq(token.as_bytes())
            .into()
    }
}

fn millis(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Checks a GitHub-style `X-Hub-Signature-256: sha256=<hex>` header over `body`.
pub fn verify_hub_signature(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_mac) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(given) = hex::decode(hex_mac) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The `X-Hub-Signature-256` header value for `body` (for deploy scripts and tests).
pub fn hub_signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_one() {
        let hash = hash_password("correct horse").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(verify_password("ann", &hash, "correct horse"), Ok(true));
        assert_eq!(verify_password("ann", &hash, "wrong horse"), Ok(false));
        let error = verify_password("ann", "plaintext", "x").expect_err("not a hash");
        assert!(error.to_string().contains("`ann`"), "{error}");
    }

    #[test]
    fn the_reusing_checker_agrees_with_argon2() {
        let hash = hash_password("correct horse").expect("hash");
        let mut checker = PasswordChecker::default();
        for _ in 0..2 {
            assert_eq!(checker.verify("ann", &hash, "correct horse"), Ok(true));
            assert_eq!(checker.verify("ann", &hash, "wrong horse"), Ok(false));
        }
        // A hash made with other parameters (smaller memory) works with the same buffer.
        use argon2::password_hash::PasswordHasher;
        let params = argon2::Params::new(8, 1, 1, None).expect("params");
        let small = argon2::Argon2::new(argon2::Algorithm::Argon2i, argon2::Version::V0x10, params)
            .hash_password(b"tiny")
            .expect("hash")
            .to_string();
        assert_eq!(checker.verify("ann", &small, "tiny"), Ok(true));
        assert_eq!(checker.verify("ann", &small, "tinY"), Ok(false));
        assert!(checker.verify("ann", "plaintext", "x").is_err());
    }

    #[test]
    fn sessions_expire_and_cannot_be_forged() {
        let sessions = Sessions::new(b"secret", Duration::from_secs(60));
        let now = SystemTime::now();
        let cookie = sessions.issue("ann", "hash", now);
        let hash = |_: &str| Some("hash");
        assert_eq!(sessions.verify(&cookie, now, hash).as_deref(), Some("ann"));
        assert_eq!(
            sessions.verify(&cookie, now + Duration::from_secs(61), hash),
            None,
            "expired"
        );
        let forged = cookie.replacen("ann", "bob", 1);
        assert_eq!(sessions.verify(&forged, now, hash), None, "another name");
        let other = Sessions::new(b"other secret", Duration::from_secs(60));
        assert_eq!(other.verify(&cookie, now, hash), None, "another secret");
        assert_eq!(sessions.verify("garbage", now, hash), None);
        let changed = |_: &str| Some("new hash");
        assert_eq!(sessions.verify(&cookie, now, changed), None, "new password");
        sessions.end_all("ann", now);
        assert_eq!(sessions.verify(&cookie, now, hash), None, "logged out");
        let later = sessions.issue("ann", "hash", now + Duration::from_millis(1));
        assert_eq!(sessions.verify(&later, now, hash).as_deref(), Some("ann"));
    }

    #[test]
    fn dotted_names_survive_the_cookie_format() {
        let sessions = Sessions::new(b"secret", Duration::from_secs(60));
        let now = SystemTime::now();
        let cookie = sessions.issue("ann.lee", "hash", now);
        let hash = |_: &str| Some("hash");
        assert_eq!(
            sessions.verify(&cookie, now, hash).as_deref(),
            Some("ann.lee")
        );
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let sessions = Sessions::new(b"secret", Duration::from_secs(60));
        let now = SystemTime::now();
        let (a, b) = (
            sessions.issue("ann", "h", now),
            sessions.issue("bob", "h", now),
        );
        let token = sessions.csrf_token(&a);
        assert!(sessions.verify_csrf(&a, &token));
        assert!(!sessions.verify_csrf(&b, &token));
        assert!(!sessions.verify_csrf(&a, ""));
    }

    #[test]
    fn hub_signatures_match_githubs_format() {
        // The example from GitHub's documentation on validating webhook deliveries.
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(hub_signature(secret, body), expected);
        assert!(verify_hub_signature(secret, body, Some(expected)));
        assert!(!verify_hub_signature(
            secret,
            b"Hello, World?",
            Some(expected)
        ));
        assert!(!verify_hub_signature(b"wrong", body, Some(expected)));
        assert!(!verify_hub_signature(secret, body, None));
        assert!(!verify_hub_signature(secret, body, Some("sha1=abc")));
    }
}
