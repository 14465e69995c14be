//! Access tokens: EdDSA JWTs signed with the node's auth key (`<data_dir>/auth.key`).
//!
//! jsonwebtoken 11 has no crypto of its own; [`install_provider`] installs a small
//! EdDSA-only [`CryptoProvider`] over ed25519-dalek 3 (the crate's `rust_crypto` backend would
//! pull in `rsa` and an older dalek). Any other algorithm is refused by the provider itself,
//! on top of the validation pinning `EdDSA`.

use std::path::Path;
use std::sync::Once;

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use winichat_protocol::ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use winichat_protocol::ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::identity::{self, IdentityError};

/// File name of the auth key inside the data directory (apart from the identity key).
pub const AUTH_KEY_FILE: &str = "auth.key";
/// The `aud` of every access token.
pub const AUDIENCE: &str = "winichat-client";
/// The `typ` of an access token.
pub const TYP_ACCESS: &str = "access";
/// Clock leeway when checking `exp`, in seconds.
pub const LEEWAY_SECS: u64 = 5;

struct EdSigner(SigningKey);

impl signature::Signer<Vec<u8>> for EdSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(msg).to_bytes().to_vec())
    }
}

impl JwtSigner for EdSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct EdVerifier(VerifyingKey);

impl signature::Verifier<Vec<u8>> for EdVerifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        let sig = Signature::from_slice(sig).map_err(|_| signature::Error::new())?;
        self.0
            .verify_strict(msg, &sig)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for EdVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

fn signer_factory(
    alg: &Algorithm,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    if *alg != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let key = SigningKey::from_pkcs8_der(key.as_bytes()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdSigner(key)))
}

fn verifier_factory(
    alg: &Algorithm,
    key: &DecodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    if *alg != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let bytes = key.try_get_as_bytes()?;
    let bytes = <&[u8; 32]>::try_from(bytes).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdVerifier(key)))
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory,
    verifier_factory,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Installs the EdDSA-only provider for the process (idempotent). Called by [`AuthKey`]'s
/// constructors, so nothing signs or verifies before it is in place.
pub fn install_provider() {
    static ONCE: Once = Once::new();
    // An error means another provider is installed already; ours refuses nothing the
    // validation would accept, and any other would have to be installed on purpose.
    ONCE.call_once(|| {
        let _ = PROVIDER.install_default();
    });
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The node name.
    pub iss: String,
    /// Always [`AUDIENCE`].
    pub aud: String,
    /// The user id, `@name:node`.
    pub sub: String,
    /// The session id.
    pub sid: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds.
    pub exp: u64,
    /// Always [`TYP_ACCESS`] for an access token.
    pub typ: String,
}

/// The key access tokens are signed with.
#[derive(Clone)]
pub struct AuthKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    public: VerifyingKey,
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthKey")
            .field("public", &hex::encode(self.public.as_bytes()))
            .finish_non_exhaustive()
    }
}

impl AuthKey {
    /// Loads `<data_dir>/auth.key`, creating it (mode 0600) on first start.
    pub fn load_or_create(data_dir: &Path) -> Result<AuthKey, IdentityError> {
        let (key, created) = identity::load_or_create_key(&data_dir.join(AUTH_KEY_FILE))?;
        if created {
            tracing::info!("created a new auth key");
        }
        AuthKey::from_signing_key(&key)
    }

    /// Loads an existing `<data_dir>/auth.key` (tests mint tokens with it).
    pub fn load(data_dir: &Path) -> Result<AuthKey, IdentityError> {
        AuthKey::from_signing_key(&identity::load_key(&data_dir.join(AUTH_KEY_FILE))?)
    }

    fn from_signing_key(key: &SigningKey) -> Result<AuthKey, IdentityError> {
        install_provider();
        let der = key.to_pkcs8_der().map_err(|e| IdentityError::Invalid {
            path: AUTH_KEY_FILE.into(),
            reason: e.to_string(),
        })?;
        let public = key.verifying_key();
        Ok(AuthKey {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_der(public.as_bytes()),
            public,
        })
    }

    /// The public key (32 bytes).
    pub fn public_key(&self) -> VerifyingKey {
        self.public
    }

    /// Signs `claims` (any serializable claims: tests mint malformed ones) as an EdDSA JWT.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &self.encoding)
    }

    /// Checks signature, algorithm, `iss`, `aud`, `exp` (with [`LEEWAY_SECS`]) and `typ`.
    pub fn verify(&self, token: &str, issuer: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)?;
        if data.claims.typ != TYP_ACCESS {
            return Err(ErrorKind::InvalidToken.into());
        }
        Ok(data.claims)
    }
}
