//! Signed download URLs: `<img>`, `<audio>` and `<video>` cannot send a Bearer header, so the
//! node hands out short-lived URLs carrying their own proof of access.
//!
//! ```text
//! sig     = base64url(HMAC-SHA256(url_key, "winichat-media-url/1\n<hex>\n<thumb size or 0>\n<exp>"))
//! url_key = SHA-256("winichat-media-url-key/1" ‖ node identity secret key)
//! ```
//!
//! The key is derived from the identity key, so URLs survive a restart. `exp` is rounded to
//! a bucket of half the lifetime, so the same media gets the same URL for a while and the
//! browser's cache hits.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256};
use winichat_protocol::Timestamp;

/// The domain separator of the key derivation.
const KEY_CONTEXT: &[u8] = b"winichat-media-url-key/1";
/// The domain separator of the signed text.
const SIG_CONTEXT: &str = "winichat-media-url/1";

/// Why a signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigError {
    /// `exp` or `sig` does not parse (`400`).
    Malformed,
    /// Wrong or expired (`404`, like unknown media).
    Refused,
}

/// Signs and checks media URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: [u8; 32],
    ttl_ms: u64,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner")
            .field("ttl_ms", &self.ttl_ms)
            .finish_non_exhaustive()
    }
}

impl UrlSigner {
    /// A signer whose key is derived from the node identity's secret key bytes. `ttl_ms` is
    /// the lifetime of a URL (at least 2 ms; URLs live between `ttl/2` and `ttl`, plus up to
    /// `ttl/2` more from the rounding).
    pub fn new(identity_secret: &[u8; 32], ttl_ms: u64) -> UrlSigner {
        let mut hasher = Sha256::new();
        hasher.update(KEY_CONTEXT);
        hasher.update(identity_secret);
        UrlSigner {
            key: hasher.finalize().into(),
            ttl_ms: ttl_ms.max(2),
        }
    }

    /// When a URL signed at `now` expires: `(now / bucket + 2) * bucket` with
    /// `bucket = ttl / 2`.
    pub fn expiry(&self, now: Timestamp) -> Timestamp {
        let bucket = self.ttl_ms / 2;
        Timestamp((now.0 / bucket).saturating_add(2).saturating_mul(bucket))
    }

    fn mac(&self, sha256: &[u8; 32], thumb: Option<u32>, exp: Timestamp) -> Hmac<Sha256> {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            // HMAC takes keys of any length.
            Err(_) => unreachable!("HMAC accepts a 32-byte key"),
        };
        let text = format!(
            "{SIG_CONTEXT}\n{}\n{}\n{}",
            hex::encode(sha256),
            thumb.unwrap_or(0),
            exp.0
        );
        mac.update(text.as_bytes());
        mac
    }

    /// The signature of one URL, base64url without padding.
    pub fn sign(&self, sha256: &[u8; 32], thumb: Option<u32>, exp: Timestamp) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(sha256, thumb, exp).finalize().into_bytes())
    }

    /// The URL path and query for `sha256` (or its thumbnail), valid until
    /// [`UrlSigner::expiry`]: `/api/media/<hex>[/thumb/<n>]?exp=…&sig=…`.
    pub fn url(&self, sha256: &[u8; 32], thumb: Option<u32>, now: Timestamp) -> String {
        let exp = self.expiry(now);
        let sig = self.sign(sha256, thumb, exp);
        let hex = hex::encode(sha256);
        match thumb {
            Some(size) => format!("/api/media/{hex}/thumb/{size}?exp={}&sig={sig}", exp.0),
            None => format!("/api/media/{hex}?exp={}&sig={sig}", exp.0),
        }
    }

    /// Checks the `exp` and `sig` query values of a request for `sha256` (or its thumbnail)
    /// at `now`. The comparison is constant-time.
    pub fn verify(
        &self,
        sha256: &[u8; 32],
        thumb: Option<u32>,
        exp: &str,
        sig: &str,
        now: Timestamp,
    ) -> Result<(), SigError> {
        if exp.is_empty() || exp.len() > 20 || !exp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SigError::Malformed);
        }
        let exp = Timestamp(exp.parse::<u64>().map_err(|_| SigError::Malformed)?);
        // 32 bytes are 43 characters of unpadded base64url.
        if sig.len() != 43 {
            return Err(SigError::Malformed);
        }
        let tag = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| SigError::Malformed)?;
        self.mac(sha256, thumb, exp)
            .verify_slice(&tag)
            .map_err(|_| SigError::Refused)?;
        if now >= exp {
            return Err(SigError::Refused);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;

    fn signer() -> UrlSigner {
        UrlSigner::new(&[9; 32], HOUR)
    }

    fn query(url: &str) -> (String, String) {
        let (_, query) = url.split_once('?').expect("a query");
        let mut exp = String::new();
        let mut sig = String::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("exp", v)) => exp = v.to_owned(),
                Some(("sig", v)) => sig = v.to_owned(),
                _ => panic!("unexpected {pair}"),
            }
        }
        (exp, sig)
    }

    #[test]
    fn the_key_and_signature_follow_the_spec() {
        let secret = [9u8; 32];
        let mut k = Sha256::new();
        k.update(b"winichat-media-url-key/1");
        k.update(secret);
        let key: [u8; 32] = k.finalize().into();
        let sha = [0xab; 32];
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
        mac.update(format!("winichat-media-url/1\n{}\n320\n1234", "ab".repeat(32)).as_bytes());
        let expected = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        assert_eq!(signer().sign(&sha, Some(320), Timestamp(1234)), expected);
        assert_ne!(signer().sign(&sha, None, Timestamp(1234)), expected);
    }

    #[test]
    fn expiry_is_rounded_so_urls_repeat() {
        let s = signer();
        let half = HOUR / 2;
        let now = Timestamp(10 * half + 123);
        assert_eq!(s.expiry(now), Timestamp(12 * half));
        assert_eq!(s.expiry(Timestamp(10 * half)), Timestamp(12 * half));
        assert_eq!(s.expiry(Timestamp(11 * half - 1)), Timestamp(12 * half));
        assert_eq!(
            s.url(&[1; 32], None, Timestamp(10 * half)),
            s.url(&[1; 32], None, Timestamp(11 * half - 1))
        );
        // Always at least ttl/2 ahead.
        for t in [0, 1, half - 1, half, 7 * half + 5] {
            let exp = s.expiry(Timestamp(t)).0;
            assert!(exp - t > half && exp - t <= HOUR, "{t}: {exp}");
        }
    }

    #[test]
    fn verify_accepts_its_urls_and_refuses_everything_else() {
        let s = signer();
        let now = Timestamp(1_700_000_000_000);
        let sha = [3; 32];
        let (exp, sig) = query(&s.url(&sha, None, now));
        assert_eq!(s.verify(&sha, None, &exp, &sig, now), Ok(()));
        let (texp, tsig) = query(&s.url(&sha, Some(96), now));
        assert_eq!(s.verify(&sha, Some(96), &texp, &tsig, now), Ok(()));

        // Another media, another thumb, the original for a thumb's signature, another key.
        assert_eq!(
            s.verify(&[4; 32], None, &exp, &sig, now),
            Err(SigError::Refused)
        );
        assert_eq!(
            s.verify(&sha, Some(320), &texp, &tsig, now),
            Err(SigError::Refused)
        );
        assert_eq!(
            s.verify(&sha, None, &texp, &tsig, now),
            Err(SigError::Refused)
        );
        let other = UrlSigner::new(&[8; 32], HOUR);
        assert_eq!(
            other.verify(&sha, None, &exp, &sig, now),
            Err(SigError::Refused)
        );
        // A later exp with the old signature.
        let later = (exp.parse::<u64>().expect("exp") + 1).to_string();
        assert_eq!(
            s.verify(&sha, None, &later, &sig, now),
            Err(SigError::Refused)
        );
        // Expired.
        let at_exp = Timestamp(exp.parse().expect("exp"));
        assert_eq!(
            s.verify(&sha, None, &exp, &sig, at_exp),
            Err(SigError::Refused)
        );
        // Malformed.
        for (e, g) in [
            ("", sig.as_str()),
            ("12a", sig.as_str()),
            ("-5", sig.as_str()),
            ("99999999999999999999999", sig.as_str()),
            (exp.as_str(), ""),
            (exp.as_str(), "short"),
            (exp.as_str(), &"!".repeat(43)),
            (exp.as_str(), &format!("{sig}=")),
        ] {
            assert_eq!(
                s.verify(&sha, None, e, g, now),
                Err(SigError::Malformed),
                "{e:?} {g:?}"
            );
        }
    }
}
