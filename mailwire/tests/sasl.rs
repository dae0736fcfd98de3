//! SASL for SMTP AUTH (RFC 4954) through the public API: mechanism names, every mechanism's
//! exchange with its RFC's example, the base64 framing, the choice of mechanism, and redaction.

use mailwire::sasl::{
    choose, decode_challenge, encode_response, Authenticator, Credentials, Mechanism, SaslError,
};
use mailwire::Secret;
use proptest::prelude::*;

const NONCE: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn password(user: &str, pass: &str) -> Credentials {
    Credentials::Password {
        username: user.into(),
        password: Secret::new(pass.into()),
    }
}

fn oauth(user: &str, token: &str) -> Credentials {
    Credentials::OAuth2 {
        username: user.into(),
        token: Secret::new(token.into()),
    }
}

fn bytes(secret: Secret<Vec<u8>>) -> Vec<u8> {
    secret.expose().clone()
}

fn start(mechanism: Mechanism, credentials: &Credentials) -> Authenticator {
    Authenticator::new(mechanism, credentials, NONCE).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Mechanism names

/// Every known mechanism with its registered name (RFC 4422 3.1, the IANA SASL registry).
const NAMES: &[(&str, Mechanism)] = &[
    ("PLAIN", Mechanism::Plain),
    ("LOGIN", Mechanism::Login),
    ("CRAM-MD5", Mechanism::CramMd5),
    ("XOAUTH2", Mechanism::XOAuth2),
    ("OAUTHBEARER", Mechanism::OAuthBearer),
    ("SCRAM-SHA-1", Mechanism::ScramSha1),
    ("SCRAM-SHA-256", Mechanism::ScramSha256),
];

/// RFC 4422 3.1: mechanism names are case-insensitive; `name()` gives the registered form back.
#[test]
fn mechanism_parse_is_case_insensitive_and_name_round_trips() {
    for (name, mechanism) in NAMES {
        assert_eq!(&Mechanism::parse(name), mechanism);
        assert_eq!(&Mechanism::parse(&name.to_ascii_lowercase()), mechanism);
        assert_eq!(mechanism.name(), *name);
        assert_eq!(Mechanism::parse(mechanism.name()).name(), *name);
    }
    assert_eq!(Mechanism::parse("Cram-Md5"), Mechanism::CramMd5);
}

/// RFC 4954 3: unknown mechanisms are kept, upper-cased, so `AUTH` lists compare reliably.
#[test]
fn mechanism_unknown_is_kept_upper_cased() {
    assert_eq!(
        Mechanism::parse("gssapi"),
        Mechanism::Other("GSSAPI".into())
    );
    assert_eq!(
        Mechanism::parse("scram-sha-256-plus").name(),
        "SCRAM-SHA-256-PLUS"
    );
    assert_eq!(Mechanism::parse("NTLM").to_string(), "NTLM");
}

/// Mechanisms that put the secret itself on the wire are the ones that need TLS.
#[test]
fn mechanism_plaintext_classification() {
    for (_, mechanism) in NAMES {
        let expected = matches!(
            mechanism,
            Mechanism::Plain | Mechanism::Login | Mechanism::XOAuth2 | Mechanism::OAuthBearer
        );
        assert_eq!(mechanism.is_plaintext(), expected, "{mechanism:?}");
    }
}

/// A mechanism this crate does not implement cannot be started.
#[test]
fn unknown_mechanism_is_unsupported() {
    let creds = password("user", "pw");
    assert_eq!(
        Authenticator::new(Mechanism::Other("GSSAPI".into()), &creds, NONCE).err(),
        Some(SaslError::Unsupported)
    );
}

/// A token cannot drive a password mechanism, nor a password a token mechanism.
#[test]
fn credentials_of_the_wrong_kind_are_refused() {
    let pw = password("user", "pw");
    let token = oauth("user", "tok");
    for mechanism in [Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5] {
        assert_eq!(
            Authenticator::new(mechanism, &token, NONCE).err(),
            Some(SaslError::CredentialsMismatch)
        );
    }
    for mechanism in [Mechanism::XOAuth2, Mechanism::OAuthBearer] {
        assert_eq!(
            Authenticator::new(mechanism, &pw, NONCE).err(),
            Some(SaslError::CredentialsMismatch)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// PLAIN

/// RFC 4616 2: the initial response is `authzid NUL authcid NUL passwd` with an empty authzid.
#[test]
fn plain_initial_response_is_nul_user_nul_password() {
    let mut auth = start(Mechanism::Plain, &password("tim", "tanstaaf"));
    assert_eq!(auth.mechanism(), &Mechanism::Plain);
    assert_eq!(bytes(auth.initial_response().unwrap()), b"\0tim\0tanstaaf");
    // Until the first challenge, asking again gives the same message.
    assert_eq!(bytes(auth.initial_response().unwrap()), b"\0tim\0tanstaaf");
    assert_eq!(auth.finish(), Ok(()));
}

/// RFC 4954 4: an empty 334 asks for the initial response the server did not take; after that
/// PLAIN (RFC 4616 2) has nothing more to say.
#[test]
fn plain_answers_empty_challenge_once_then_refuses() {
    let mut auth = start(Mechanism::Plain, &password("tim", "tanstaaf"));
    assert_eq!(bytes(auth.step(b"").unwrap()), b"\0tim\0tanstaaf");
    assert!(auth.initial_response().is_none());
    assert_eq!(auth.step(b"").err(), Some(SaslError::UnexpectedChallenge));

    // Also when the initial response was sent and the server asks again.
    let mut auth = start(Mechanism::Plain, &password("tim", "tanstaaf"));
    auth.initial_response().unwrap();
    assert_eq!(bytes(auth.step(b"").unwrap()), b"\0tim\0tanstaaf");
    assert_eq!(
        auth.step(b"more?").err(),
        Some(SaslError::UnexpectedChallenge)
    );
}

/// RFC 4616 2: the server sends no data of its own, so a non-empty challenge is a protocol error.
#[test]
fn plain_refuses_non_empty_challenge() {
    let mut auth = start(Mechanism::Plain, &password("tim", "tanstaaf"));
    assert_eq!(
        auth.step(b"hello").err(),
        Some(SaslError::UnexpectedChallenge)
    );
    let mut auth = start(Mechanism::Plain, &password("tim", "tanstaaf"));
    auth.initial_response().unwrap();
    assert_eq!(
        auth.step(b"hello").err(),
        Some(SaslError::UnexpectedChallenge)
    );
}

/// RFC 4616 2: NUL separates the fields, so it cannot appear in them, and both are `1*SAFE`.
#[test]
fn plain_refuses_nul_or_empty_credentials() {
    for (user, pass) in [("ti\0m", "pw"), ("tim", "p\0w"), ("", "pw"), ("tim", "")] {
        assert_eq!(
            Authenticator::new(Mechanism::Plain, &password(user, pass), NONCE).err(),
            Some(SaslError::InvalidCredentials),
            "{user:?}"
        );
    }
}

/// Failure is sticky: after a failed step, every step and `finish` give the same error.
#[test]
fn failure_is_sticky() {
    let mut auth = start(Mechanism::Plain, &password("tim", "tanstaaf"));
    assert_eq!(auth.step(b"x").err(), Some(SaslError::UnexpectedChallenge));
    assert_eq!(auth.step(b"").err(), Some(SaslError::UnexpectedChallenge));
    assert!(auth.initial_response().is_none());
    assert_eq!(auth.finish(), Err(SaslError::UnexpectedChallenge));
}

// ---------------------------------------------------------------------------------------------
// LOGIN

/// draft-murchison-sasl-login 2: no initial response; user name, then password, whatever the
/// prompts say; a third challenge is unexpected.
#[test]
fn login_sends_user_then_password_by_position() {
    let mut auth = start(Mechanism::Login, &password("tim", "tanstaaf"));
    assert!(auth.initial_response().is_none());
    assert_eq!(bytes(auth.step(b"Username:").unwrap()), b"tim");
    assert_eq!(bytes(auth.step(b"Passwort:").unwrap()), b"tanstaaf");
    assert_eq!(
        auth.step(b"Password:").err(),
        Some(SaslError::UnexpectedChallenge)
    );

    let mut auth = start(Mechanism::Login, &password("tim", "tanstaaf"));
    assert_eq!(bytes(auth.step(b"").unwrap()), b"tim");
    assert_eq!(bytes(auth.step(b"").unwrap()), b"tanstaaf");
    assert_eq!(auth.finish(), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// CRAM-MD5

/// RFC 2195 2: the example: user `tim`, password `tanstaaftanstaaf`.
#[test]
fn cram_md5_rfc2195_example() {
    let mut auth = start(Mechanism::CramMd5, &password("tim", "tanstaaftanstaaf"));
    assert!(auth.initial_response().is_none());
    // The challenge as the server sends it, base64 (RFC 2195 2).
    let challenge =
        decode_challenge(b"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+").unwrap();
    assert_eq!(challenge, b"<1896.697170952@postoffice.reston.mci.net>");
    let answer = auth.step(&challenge).unwrap();
    assert_eq!(bytes(answer), b"tim b913a602c7eda7a495b4e6e7334d3890");
    // RFC 2195 2's encoded answer.
    let answer = auth_answer_base64();
    assert_eq!(answer, b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    assert_eq!(
        auth.step(b"<again@x>").err(),
        Some(SaslError::UnexpectedChallenge)
    );
    assert_eq!(auth.finish(), Err(SaslError::UnexpectedChallenge));
}

fn auth_answer_base64() -> Vec<u8> {
    bytes(encode_response(b"tim b913a602c7eda7a495b4e6e7334d3890"))
}

// ---------------------------------------------------------------------------------------------
// XOAUTH2 and OAUTHBEARER

/// XOAUTH2 (Google's protocol description): `user=U ^A auth=Bearer T ^A ^A`; the error challenge
/// is answered with an empty response so the server can send its 535.
#[test]
fn xoauth2_initial_response_and_error_acknowledgement() {
    let mut auth = start(
        Mechanism::XOAuth2,
        &oauth("someuser@example.com", "ya29.vF9dft4qmT"),
    );
    assert_eq!(
        bytes(auth.initial_response().unwrap()),
        b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmT\x01\x01"
    );
    let error = br#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#;
    assert_eq!(bytes(auth.step(error).unwrap()), b"");
    assert_eq!(auth.step(error).err(), Some(SaslError::UnexpectedChallenge));
}

/// XOAUTH2's documented example encodes to the documented base64.
#[test]
fn xoauth2_matches_documented_encoding() {
    let mut auth = start(
        Mechanism::XOAuth2,
        &oauth(
            "someuser@example.com",
            "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
        ),
    );
    let encoded = encode_response(auth.initial_response().unwrap().expose());
    assert_eq!(
        encoded.expose().as_slice(),
        &b"dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="[..]
    );
}

/// RFC 7628 3.1 and 4.1: `n,a=U, ^A auth=Bearer T ^A ^A`; RFC 7628 3.2.3: the error challenge
/// is answered with a lone `^A`.
#[test]
fn oauthbearer_rfc7628_initial_response_and_error_acknowledgement() {
    let mut auth = start(
        Mechanism::OAuthBearer,
        &oauth(
            "user@example.com",
            "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
        ),
    );
    assert_eq!(
        bytes(auth.initial_response().unwrap()),
        b"n,a=user@example.com,\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    );
    let error = br#"{"status":"invalid_token","scope":"example_scope"}"#;
    assert_eq!(bytes(auth.step(error).unwrap()), b"\x01");
    assert_eq!(auth.step(error).err(), Some(SaslError::UnexpectedChallenge));
}

/// RFC 5801 4: `,` and `=` in the authorisation identity are escaped as `=2C` and `=3D`.
#[test]
fn oauthbearer_escapes_user_in_gs2_header() {
    let mut auth = start(Mechanism::OAuthBearer, &oauth("a,b=c", "T"));
    assert_eq!(
        bytes(auth.initial_response().unwrap()),
        b"n,a=a=2Cb=3Dc,\x01auth=Bearer T\x01\x01"
    );
}

/// RFC 7628 3.1: `^A` separates fields; a user or token holding one is refused before sending.
#[test]
fn oauth_refuses_separator_in_credentials() {
    for mechanism in [Mechanism::XOAuth2, Mechanism::OAuthBearer] {
        for creds in [oauth("u\x01", "T"), oauth("u", "T\x01x"), oauth("u", "")] {
            assert_eq!(
                Authenticator::new(mechanism.clone(), &creds, NONCE).err(),
                Some(SaslError::InvalidCredentials)
            );
        }
    }
}

/// RFC 4954 4: without an initial response, the empty 334 gets the token message.
#[test]
fn oauth_empty_challenge_gets_initial_message() {
    let mut auth = start(Mechanism::OAuthBearer, &oauth("u", "T"));
    assert_eq!(
        bytes(auth.step(b"").unwrap()),
        b"n,a=u,\x01auth=Bearer T\x01\x01"
    );
    assert_eq!(bytes(auth.step(b"{}").unwrap()), b"\x01");
}

// ---------------------------------------------------------------------------------------------
// SCRAM

#[cfg(feature = "scram")]
mod scram {
    use super::*;

    /// One SCRAM test vector: the two server messages and the two client messages.
    struct Vector {
        mechanism: Mechanism,
        nonce: &'static str,
        client_first: &'static [u8],
        server_first: &'static [u8],
        client_final: &'static [u8],
        server_final: &'static [u8],
    }

    /// RFC 7677 3: SCRAM-SHA-256, user `user`, password `pencil`.
    const RFC7677: Vector = Vector {
        mechanism: Mechanism::ScramSha256,
        nonce: "rOprNGfwEbeRWgbNEkqO",
        client_first: b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
        server_first: b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        client_final: b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        server_final: b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    };

    /// RFC 5802 5: SCRAM-SHA-1, user `user`, password `pencil`.
    const RFC5802: Vector = Vector {
        mechanism: Mechanism::ScramSha1,
        nonce: "fyko+d2lbbFgONRv9qkxdawL",
        client_first: b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
        server_first: b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        client_final:
            b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
        server_final: b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
    };

    fn vector_start(v: &Vector) -> Authenticator {
        Authenticator::with_printable_nonce(
            v.mechanism.clone(),
            &password("user", "pencil"),
            v.nonce,
        )
        .unwrap()
    }

    fn run_vector(v: &Vector) {
        let mut auth = vector_start(v);
        assert_eq!(bytes(auth.initial_response().unwrap()), v.client_first);
        assert_eq!(auth.finish(), Err(SaslError::IncompleteExchange));
        assert_eq!(bytes(auth.step(v.server_first).unwrap()), v.client_final);
        assert_eq!(auth.finish(), Err(SaslError::IncompleteExchange));
        assert_eq!(bytes(auth.step(v.server_final).unwrap()), b"");
        assert_eq!(auth.finish(), Ok(()));
        assert_eq!(
            auth.step(b"v=again").err(),
            Some(SaslError::UnexpectedChallenge)
        );
    }

    /// RFC 7677 3: the SCRAM-SHA-256 example exchange, byte for byte.
    #[test]
    fn scram_sha256_rfc7677_example() {
        run_vector(&RFC7677);
    }

    /// RFC 5802 5: the SCRAM-SHA-1 example exchange, byte for byte.
    #[test]
    fn scram_sha1_rfc5802_example() {
        run_vector(&RFC5802);
    }

    /// RFC 5802 9: a server that does not know the password cannot produce `v=`; the exchange
    /// fails and stays failed, even if the server then says 235.
    #[test]
    fn scram_wrong_server_signature_fails() {
        for v in [&RFC7677, &RFC5802] {
            let mut auth = vector_start(v);
            auth.initial_response().unwrap();
            auth.step(v.server_first).unwrap();
            let mut forged = v.server_final.to_vec();
            // Flip one base64 character of the signature.
            forged[5] = if forged[5] == b'A' { b'B' } else { b'A' };
            assert_eq!(
                auth.step(&forged).err(),
                Some(SaslError::ServerSignatureMismatch)
            );
            assert_eq!(auth.finish(), Err(SaslError::ServerSignatureMismatch));
        }
        let mut auth = vector_start(&RFC7677);
        auth.initial_response().unwrap();
        auth.step(RFC7677.server_first).unwrap();
        assert_eq!(
            auth.step(b"v=").err(),
            Some(SaslError::ServerSignatureMismatch)
        );
    }

    /// RFC 5802 5.1: the server's nonce must start with the client's and add to it.
    #[test]
    fn scram_server_nonce_must_extend_ours() {
        for server_first in [
            &b"r=XXXXNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"[..],
            b"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            b"r=rOprNGfwEbeRWgbNEk,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        ] {
            let mut auth = vector_start(&RFC7677);
            auth.initial_response().unwrap();
            assert_eq!(
                auth.step(server_first).err(),
                Some(SaslError::NonceMismatch)
            );
        }
    }

    /// RFC 5802 5.1 `i=`: zero is invalid, and a huge count (a denial of service on the client)
    /// is refused before any hashing.
    #[test]
    fn scram_iteration_count_out_of_range() {
        for (count, expected) in [
            ("0", 0),
            ("1000001", 1_000_001),
            ("4294967295", u32::MAX),
            ("99999999999", u32::MAX),
        ] {
            let server_first =
                format!("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i={count}");
            let mut auth = vector_start(&RFC7677);
            auth.initial_response().unwrap();
            assert_eq!(
                auth.step(server_first.as_bytes()).err(),
                Some(SaslError::IterationCount(expected))
            );
        }
        assert_eq!(mailwire::sasl::SCRAM_MAX_ITERATIONS, 1_000_000);
    }

    /// RFC 5802 5.1 `m=`: an unknown mandatory extension fails the exchange.
    #[test]
    fn scram_mandatory_extension_fails() {
        let mut auth = vector_start(&RFC7677);
        auth.initial_response().unwrap();
        let server_first = b"m=ext,r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        assert_eq!(
            auth.step(server_first).err(),
            Some(SaslError::InvalidServerMessage)
        );
    }

    /// RFC 5802 5.1: extensions after `i=` in server-first and after `v=` are ignored.
    #[test]
    fn scram_ignores_optional_extensions() {
        let v = &RFC7677;
        let mut auth = vector_start(v);
        auth.initial_response().unwrap();
        let server_first = [v.server_first, b",x=optional"].concat();
        // The extension is part of AuthMessage, so the proof changes; only check it is accepted.
        assert!(auth.step(&server_first).is_ok());
    }

    /// RFC 5802 7 `server-error`: `e=` ends the exchange with the server's reason.
    #[test]
    fn scram_server_error_is_reported() {
        let mut auth = vector_start(&RFC7677);
        auth.initial_response().unwrap();
        auth.step(RFC7677.server_first).unwrap();
        assert_eq!(
            auth.step(b"e=invalid-proof").err(),
            Some(SaslError::ServerError("invalid-proof".into()))
        );
        assert_eq!(
            auth.finish(),
            Err(SaslError::ServerError("invalid-proof".into()))
        );
    }

    /// RFC 5802 9: 235 before `v=` was verified is not success: the server was not authenticated.
    #[test]
    fn scram_finish_before_verification_is_incomplete() {
        let mut auth = vector_start(&RFC5802);
        assert_eq!(auth.finish(), Err(SaslError::IncompleteExchange));
        auth.initial_response().unwrap();
        auth.step(RFC5802.server_first).unwrap();
        assert_eq!(auth.finish(), Err(SaslError::IncompleteExchange));
    }

    /// RFC 5802 7: a malformed server-final is neither accepted nor taken for a mismatch.
    #[test]
    fn scram_malformed_server_final() {
        for bad in [
            &b""[..],
            b"x=1",
            b"v=not base64!",
            b"m=1,v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        ] {
            let mut auth = vector_start(&RFC7677);
            auth.initial_response().unwrap();
            auth.step(RFC7677.server_first).unwrap();
            assert_eq!(
                auth.step(bad).err(),
                Some(SaslError::InvalidServerMessage),
                "{bad:?}"
            );
        }
    }

    /// RFC 4954 4: without an initial response, the empty 334 gets client-first; a real
    /// challenge before client-first went out cannot be answered.
    #[test]
    fn scram_empty_challenge_gets_client_first() {
        let v = &RFC7677;
        let mut auth = vector_start(v);
        assert_eq!(bytes(auth.step(b"").unwrap()), v.client_first);
        assert_eq!(bytes(auth.step(v.server_first).unwrap()), v.client_final);

        let mut auth = vector_start(v);
        assert_eq!(
            auth.step(v.server_first).err(),
            Some(SaslError::UnexpectedChallenge)
        );
    }

    /// RFC 5802 5.1: the client nonce is printable (here base64 without padding, so never `,`
    /// or `=`) and comes from the caller's randomness, at least 18 bytes, at most 32 used.
    #[test]
    fn scram_nonce_is_base64_of_caller_bytes() {
        let creds = password("user", "pencil");
        let mut auth = Authenticator::new(Mechanism::ScramSha256, &creds, &[0xfb; 18]).unwrap();
        assert_eq!(
            bytes(auth.initial_response().unwrap()),
            b"n,,n=user,r=+/v7+/v7+/v7+/v7+/v7+/v7"
        );

        let mut auth = Authenticator::new(Mechanism::ScramSha1, &creds, &[b'a'; 100]).unwrap();
        let first = bytes(auth.initial_response().unwrap());
        let nonce = first.strip_prefix(b"n,,n=user,r=").unwrap();
        assert_eq!(nonce.len(), 43, "32 bytes, unpadded");
        assert!(!nonce.contains(&b'=') && !nonce.contains(&b','));

        for short in [&[][..], &[1u8; 17][..]] {
            assert_eq!(
                Authenticator::new(Mechanism::ScramSha256, &creds, short).err(),
                Some(SaslError::InvalidNonce)
            );
        }
        // Other mechanisms ignore the nonce.
        assert!(Authenticator::new(Mechanism::Plain, &creds, &[]).is_ok());
    }

    /// RFC 5802 7 `saslname`: `=` and `,` in the user are escaped; NUL or empty is refused.
    #[test]
    fn scram_escapes_and_validates_user() {
        let mut auth = Authenticator::with_printable_nonce(
            Mechanism::ScramSha256,
            &password("a=b,c", "pencil"),
            "nonce",
        )
        .unwrap();
        assert_eq!(
            bytes(auth.initial_response().unwrap()),
            b"n,,n=a=3Db=2Cc,r=nonce"
        );
        for user in ["", "a\0b"] {
            assert_eq!(
                Authenticator::new(Mechanism::ScramSha1, &password(user, "pencil"), NONCE).err(),
                Some(SaslError::InvalidCredentials)
            );
        }
        for nonce in ["", "a,b", "a b", "é"] {
            assert_eq!(
                Authenticator::with_printable_nonce(
                    Mechanism::ScramSha1,
                    &password("u", "p"),
                    nonce
                )
                .err(),
                Some(SaslError::InvalidNonce),
                "{nonce:?}"
            );
        }
    }

    /// RFC 4013 3, the examples: input, and SASLprep's output or `None` for an error. With
    /// the `saslprep` feature every row holds; without it, the ASCII rows hold and the others
    /// are refused as needing SASLprep.
    const RFC4013_EXAMPLES: &[(&str, Option<&str>)] = &[
        ("I\u{00AD}X", Some("IX")), // 1: SOFT HYPHEN mapped to nothing
        ("user", Some("user")),     // 2: no transformation
        ("USER", Some("USER")),     // 3: case preserved, will not match #2
        ("\u{00AA}", Some("a")),    // 4: output is NFKC, input in ISO 8859-1
        ("\u{2168}", Some("IX")),   // 5: output is NFKC, will match #1
        ("\u{0007}", None),         // 6: prohibited character
        ("\u{0627}\u{0031}", None), // 7: bidirectional check
    ];

    /// What `Authenticator::new` must give for one RFC 4013 example in this build.
    fn expected(input: &str, output: Option<&str>) -> Result<String, SaslError> {
        match output {
            _ if !input.is_ascii() && !cfg!(feature = "saslprep") => {
                Err(SaslError::SaslprepUnavailable)
            }
            Some(output) => Ok(output.to_string()),
            None => Err(SaslError::SaslprepFailed),
        }
    }

    /// RFC 4013 3 through SCRAM user names (RFC 5802 5.1 `n`): the prepared name is what goes
    /// out in client-first; a refused one fails `Authenticator::new`, before anything is sent.
    #[test]
    fn saslprep_rfc4013_examples_user_name() {
        for &(input, output) in RFC4013_EXAMPLES {
            let got = Authenticator::with_printable_nonce(
                Mechanism::ScramSha256,
                &password(input, "pencil"),
                "nonce",
            )
            .map(|mut auth| {
                let first = bytes(auth.initial_response().unwrap());
                let first = String::from_utf8(first).unwrap();
                first
                    .strip_prefix("n,,n=")
                    .and_then(|rest| rest.strip_suffix(",r=nonce"))
                    .unwrap()
                    .to_string()
            });
            assert_eq!(got, expected(input, output), "{input:?}");
        }
    }

    /// RFC 4013 3 through SCRAM passwords (RFC 5802 2.2 `Normalize`): each input gives exactly
    /// the client proof of its prepared output; a refused one fails `Authenticator::new`.
    #[test]
    fn saslprep_rfc4013_examples_password() {
        let client_final = |pass: &str| {
            Authenticator::with_printable_nonce(
                Mechanism::ScramSha256,
                &password("user", pass),
                RFC7677.nonce,
            )
            .map(|mut auth| {
                auth.initial_response().unwrap();
                bytes(auth.step(RFC7677.server_first).unwrap())
            })
        };
        for &(input, output) in RFC4013_EXAMPLES {
            let want = expected(input, output).map(|out| client_final(&out).unwrap());
            assert_eq!(client_final(input), want, "{input:?}");
        }
    }

    /// RFC 5802 2.2 with the RFC 7677 3 vector: `pencil` typed with a soft hyphen inside, or in
    /// full-width letters, prepares to `pencil`, so the exchange is the RFC's byte for byte and
    /// the server's signature verifies. Without SASLprep both are refused before sending.
    #[test]
    fn saslprep_password_forms_give_rfc7677_exchange() {
        for typed in [
            "penc\u{00AD}il",
            "\u{FF50}\u{FF45}\u{FF4E}\u{FF43}\u{FF49}\u{FF4C}",
        ] {
            let auth = Authenticator::with_printable_nonce(
                Mechanism::ScramSha256,
                &password("user", typed),
                RFC7677.nonce,
            );
            if !cfg!(feature = "saslprep") {
                assert_eq!(auth.err(), Some(SaslError::SaslprepUnavailable));
                continue;
            }
            let mut auth = auth.unwrap();
            assert_eq!(
                bytes(auth.initial_response().unwrap()),
                RFC7677.client_first
            );
            assert_eq!(
                bytes(auth.step(RFC7677.server_first).unwrap()),
                RFC7677.client_final,
                "{typed:?}"
            );
            assert_eq!(bytes(auth.step(RFC7677.server_final).unwrap()), b"");
            assert_eq!(auth.finish(), Ok(()));
        }
    }

    /// RFC 5802 5.1: a user name that SASLprep maps to nothing is refused like an empty one;
    /// ASCII controls are refused in either credential, with or without the feature.
    #[test]
    fn saslprep_empty_user_and_ascii_controls() {
        let empty = Authenticator::new(Mechanism::ScramSha1, &password("\u{00AD}", "p"), NONCE);
        assert_eq!(
            empty.err(),
            Some(if cfg!(feature = "saslprep") {
                SaslError::InvalidCredentials
            } else {
                SaslError::SaslprepUnavailable
            })
        );
        for (user, pass) in [("u\tv", "p"), ("u", "p\x7f"), ("u", "line\r\nbreak")] {
            assert_eq!(
                Authenticator::new(Mechanism::ScramSha256, &password(user, pass), NONCE).err(),
                Some(SaslError::SaslprepFailed),
                "{user:?} {pass:?}"
            );
        }
        // Spaces are printable ASCII, left as they are.
        assert!(Authenticator::new(Mechanism::ScramSha256, &password("a b", "c d"), NONCE).is_ok());
    }

    /// Token credentials cannot drive SCRAM.
    #[test]
    fn scram_refuses_token_credentials() {
        assert_eq!(
            Authenticator::new(Mechanism::ScramSha256, &oauth("u", "T"), NONCE).err(),
            Some(SaslError::CredentialsMismatch)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Hostile server-first and server-final messages never panic, and nothing but a
        /// correct `v=` lets `finish` succeed (RFC 5802 9).
        #[test]
        fn scram_hostile_server_messages_never_verify(
            first in proptest::collection::vec(any::<u8>(), 0..80),
            last in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let mut auth = vector_start(&RFC5802);
            auth.initial_response().unwrap();
            let _ = auth.step(&first);
            let _ = auth.step(&last);
            prop_assert!(auth.finish().is_err());
        }
    }
}

/// With the `scram` feature off, SCRAM cannot be started (and `choose` never picks it).
#[cfg(not(feature = "scram"))]
#[test]
fn scram_without_feature_is_unsupported() {
    for mechanism in [Mechanism::ScramSha1, Mechanism::ScramSha256] {
        assert_eq!(
            Authenticator::new(mechanism.clone(), &password("u", "p"), NONCE).err(),
            Some(SaslError::Unsupported)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// base64 framing

/// RFC 4954 4: challenges and responses are base64 (RFC 4648 4). One table drives the decoder
/// and the encoder: `(wire text, bytes)`.
const BASE64_TABLE: &[(&[u8], &[u8])] = &[
    (b"", b""),
    (b"Zg==", b"f"),
    (b"Zm8=", b"fo"),
    (b"Zm9v", b"foo"),
    (b"Zm9vYg==", b"foob"),
    (b"VXNlcm5hbWU6", b"Username:"),
    (b"AHRpbQB0YW5zdGFhZg==", b"\0tim\0tanstaaf"),
    (b"+/8=", b"\xfb\xff"),
];

/// RFC 4954 4: the table decodes, also with spaces around it, and encodes back.
#[test]
fn base64_challenge_and_response_table() {
    for (wire, value) in BASE64_TABLE {
        assert_eq!(decode_challenge(wire).unwrap(), *value, "{wire:?}");
        let padded = [b"  ", *wire, b" \t"].concat();
        assert_eq!(decode_challenge(&padded).unwrap(), *value, "{padded:?}");
        assert_eq!(encode_response(value).expose().as_slice(), *wire);
    }
}

/// Servers differ on padding: a challenge without it decodes the same; `=` alone is empty.
#[test]
fn decode_challenge_accepts_missing_padding_and_lone_equals() {
    assert_eq!(decode_challenge(b"Zg").unwrap(), b"f");
    assert_eq!(decode_challenge(b"Zm8").unwrap(), b"fo");
    assert_eq!(decode_challenge(b"Zm9vYg").unwrap(), b"foob");
    assert_eq!(decode_challenge(b"=").unwrap(), b"");
    assert_eq!(decode_challenge(b"   ").unwrap(), b"");
}

/// RFC 4648 4: anything outside the alphabet is an error, not silently skipped.
#[test]
fn decode_challenge_rejects_invalid_base64() {
    for bad in [
        &b"Zm9v YmFy"[..],
        b"Zm9v\r\n",
        b"Z",
        b"Zm9v!",
        b"-_8=",
        b"Zg===",
        b"=Zg",
    ] {
        assert_eq!(
            decode_challenge(bad),
            Err(SaslError::InvalidBase64),
            "{bad:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Encoding a response then decoding it gives the bytes back (RFC 4954 4).
    #[test]
    fn base64_round_trip(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let encoded = encode_response(&data);
        prop_assert_eq!(decode_challenge(encoded.expose()).unwrap(), data);
    }

    /// Arbitrary challenge text never panics the decoder.
    #[test]
    fn decode_challenge_never_panics(text in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_challenge(&text);
    }

    /// Arbitrary challenges never panic any mechanism, and answers stay bounded.
    #[test]
    fn steps_never_panic_on_hostile_challenges(
        challenges in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..5),
        send_initial in any::<bool>(),
    ) {
        let pw = password("user", "pencil");
        let token = oauth("user", "token");
        for (mechanism, creds) in [
            (Mechanism::Plain, &pw),
            (Mechanism::Login, &pw),
            (Mechanism::CramMd5, &pw),
            (Mechanism::XOAuth2, &token),
            (Mechanism::OAuthBearer, &token),
        ] {
            let mut auth = start(mechanism, creds);
            if send_initial {
                let _ = auth.initial_response();
            }
            for challenge in &challenges {
                if let Ok(answer) = auth.step(challenge) {
                    prop_assert!(answer.expose().len() < 256);
                }
            }
            let _ = auth.finish();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// choose

/// The mechanisms in the order `choose` prefers them for a password.
const ALL: &[Mechanism] = &[
    Mechanism::Plain,
    Mechanism::Login,
    Mechanism::CramMd5,
    Mechanism::XOAuth2,
    Mechanism::OAuthBearer,
    Mechanism::ScramSha1,
    Mechanism::ScramSha256,
];

fn m(name: &str) -> Mechanism {
    Mechanism::parse(name)
}

fn list(names: &str) -> Vec<Mechanism> {
    names.split_whitespace().map(m).collect()
}

/// RFC 4954 4 leaves the choice to the client: strongest first (SCRAM, which never reveals the
/// password and authenticates the server; then CRAM-MD5; then PLAIN and LOGIN only over TLS or
/// when allowed), honouring the caller's list. Each row: offered, allowed, secure,
/// allow_plaintext, expected for a password.
#[test]
fn choose_password_table() {
    let scram = cfg!(feature = "scram");
    let rows: &[(&str, &str, bool, bool, Option<&str>)] = &[
        (
            ALL_NAMES,
            "",
            true,
            false,
            Some(if scram { "SCRAM-SHA-256" } else { "CRAM-MD5" }),
        ),
        (
            "PLAIN LOGIN SCRAM-SHA-1 CRAM-MD5",
            "",
            true,
            false,
            Some(if scram { "SCRAM-SHA-1" } else { "CRAM-MD5" }),
        ),
        ("PLAIN LOGIN CRAM-MD5", "", false, false, Some("CRAM-MD5")),
        ("PLAIN LOGIN", "", true, false, Some("PLAIN")),
        ("LOGIN PLAIN", "", true, false, Some("PLAIN")),
        ("LOGIN", "", true, false, Some("LOGIN")),
        // No TLS: the password may not go out in the clear.
        ("PLAIN LOGIN", "", false, false, None),
        ("PLAIN LOGIN", "", false, true, Some("PLAIN")),
        // The caller's list restricts the choice.
        (ALL_NAMES, "PLAIN", true, false, Some("PLAIN")),
        (ALL_NAMES, "LOGIN CRAM-MD5", true, false, Some("CRAM-MD5")),
        ("PLAIN", "LOGIN", true, false, None),
        (ALL_NAMES, "PLAIN", false, false, None),
        // Token mechanisms never for a password; unknown ones never at all.
        ("XOAUTH2 OAUTHBEARER", "", true, true, None),
        ("GSSAPI NTLM", "", true, true, None),
        (ALL_NAMES, "GSSAPI", true, true, None),
        ("", "", true, true, None),
        // SCRAM needs no TLS.
        (
            "SCRAM-SHA-256 PLAIN",
            "",
            false,
            false,
            if scram { Some("SCRAM-SHA-256") } else { None },
        ),
        (
            "scram-sha-1",
            "",
            false,
            false,
            if scram { Some("SCRAM-SHA-1") } else { None },
        ),
    ];
    let creds = password("user", "pw");
    for (offered, allowed, secure, allow_plaintext, expected) in rows {
        let got = choose(
            &list(offered),
            &list(allowed),
            &creds,
            *secure,
            *allow_plaintext,
        );
        assert_eq!(
            got,
            expected.map(m),
            "offered {offered:?} allowed {allowed:?} secure {secure}"
        );
    }
}

const ALL_NAMES: &str = "PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER SCRAM-SHA-1 SCRAM-SHA-256 GSSAPI";

/// With a token only OAUTHBEARER (RFC 7628) then XOAUTH2, and only over TLS or when allowed.
#[test]
fn choose_oauth_table() {
    let rows: &[(&str, &str, bool, bool, Option<&str>)] = &[
        (ALL_NAMES, "", true, false, Some("OAUTHBEARER")),
        ("XOAUTH2 OAUTHBEARER", "", true, false, Some("OAUTHBEARER")),
        ("XOAUTH2 PLAIN", "", true, false, Some("XOAUTH2")),
        (ALL_NAMES, "XOAUTH2", true, false, Some("XOAUTH2")),
        (ALL_NAMES, "", false, false, None),
        (ALL_NAMES, "", false, true, Some("OAUTHBEARER")),
        ("PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256", "", true, true, None),
    ];
    let creds = oauth("user", "tok");
    for (offered, allowed, secure, allow_plaintext, expected) in rows {
        let got = choose(
            &list(offered),
            &list(allowed),
            &creds,
            *secure,
            *allow_plaintext,
        );
        assert_eq!(
            got,
            expected.map(m),
            "offered {offered:?} allowed {allowed:?} secure {secure}"
        );
    }
}

/// Whatever `choose` returns can be started with those credentials.
#[test]
fn choose_result_can_be_started() {
    for creds in [password("user", "pw"), oauth("user", "tok")] {
        for secure in [false, true] {
            if let Some(mechanism) = choose(ALL, &[], &creds, secure, true) {
                assert!(Authenticator::new(mechanism, &creds, NONCE).is_ok());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Every error has a one-line, lower-case message; a server's `e=` value cannot forge lines.
#[test]
fn sasl_error_display() {
    let errors = [
        SaslError::InvalidBase64,
        SaslError::UnexpectedChallenge,
        SaslError::InvalidServerMessage,
        SaslError::NonceMismatch,
        SaslError::ServerSignatureMismatch,
        SaslError::IncompleteExchange,
        SaslError::ServerError("other-error\r\n235 ok".into()),
        SaslError::CredentialsMismatch,
        SaslError::Unsupported,
        SaslError::IterationCount(0),
        SaslError::InvalidCredentials,
        SaslError::InvalidNonce,
        SaslError::SaslprepFailed,
        SaslError::SaslprepUnavailable,
    ];
    for error in &errors {
        let text = error.to_string();
        assert!(!text.is_empty());
        assert!(!text.contains('\n') && !text.contains('\r'), "{text:?}");
        assert!(
            text.starts_with(|c: char| c.is_ascii_lowercase()),
            "{text:?}"
        );
    }
    assert_eq!(
        SaslError::IterationCount(0).to_string(),
        "the server's SCRAM iteration count 0 is out of range (1 to 1000000)"
    );
    assert!(SaslError::ServerError("invalid-proof".into())
        .to_string()
        .ends_with("invalid-proof"));
}

// ---------------------------------------------------------------------------------------------
// Redaction

/// Everything a full exchange may print, for the redaction test.
#[derive(Default)]
struct Printed {
    text: Vec<String>,
    /// The raw responses, whose base64 must not be printed either.
    responses: Vec<Vec<u8>>,
}

impl Printed {
    fn secret(&mut self, secret: &Secret<Vec<u8>>) {
        self.text.push(format!("{secret:?}"));
        self.text.push(format!("{secret}"));
        let encoded = encode_response(secret.expose());
        self.text.push(format!("{encoded:?}"));
        self.text.push(format!("{encoded}"));
        self.responses.push(secret.expose().clone());
    }
    fn auth(&mut self, auth: &Authenticator) {
        self.text.push(format!("{auth:?}"));
        self.text.push(format!("{auth:#?}"));
        self.text.push(format!("{:?}", auth.finish()));
    }
    fn step(&mut self, auth: &mut Authenticator, challenge: &[u8]) {
        match auth.step(challenge) {
            Ok(answer) => self.secret(&answer),
            Err(error) => {
                self.text.push(format!("{error:?}"));
                self.text.push(error.to_string());
            }
        }
        self.auth(auth);
    }
}

/// The base64 characters that depend only on `secret`, at each of the three alignments it can
/// have inside a longer message.
fn base64_fragments(secret: &[u8]) -> Vec<String> {
    (0..3usize)
        .map(|offset| {
            let mut data = vec![0u8; offset];
            data.extend_from_slice(secret);
            let encoded = String::from_utf8(bytes(encode_response(&data))).unwrap();
            // Skip characters mixing the prefix in, and the last group (it may mix in padding
            // or whatever follows).
            let start = (offset * 8).div_ceil(6);
            let end = encoded.len().saturating_sub(4);
            encoded.get(start..end).unwrap_or_default().to_string()
        })
        .filter(|fragment| fragment.len() >= 4)
        .collect()
}

/// STYLE.md "Invariants": no `Debug` or `Display` of an authenticator, credentials, secret or
/// error, at any point of any mechanism's exchange, shows the password, the token, or the
/// base64 of anything holding them.
#[test]
fn redaction_no_secret_in_debug_output() {
    const PASSWORD: &str = "correct-horse-battery-staple";
    const TOKEN: &str = "ya29.token-that-must-never-print";
    let pw = password("user", PASSWORD);
    let token = oauth("user", TOKEN);

    let mut printed = Printed::default();
    printed.text.push(format!("{pw:?}"));
    printed.text.push(format!("{token:?}"));

    let exchanges: Vec<(Mechanism, &Credentials, Vec<&[u8]>)> = vec![
        (Mechanism::Plain, &pw, vec![b"", b"x"]),
        (
            Mechanism::Login,
            &pw,
            vec![b"Username:", b"Password:", b"x"],
        ),
        (
            Mechanism::CramMd5,
            &pw,
            vec![b"<1896.697170952@postoffice.reston.mci.net>", b"x"],
        ),
        (
            Mechanism::XOAuth2,
            &token,
            vec![b"{\"status\":\"401\"}", b"x"],
        ),
        (
            Mechanism::OAuthBearer,
            &token,
            vec![b"", b"{\"status\":\"invalid_token\"}", b"x"],
        ),
    ];
    #[cfg_attr(not(feature = "scram"), allow(unused_mut))]
    let mut secrets: Vec<&[u8]> = vec![PASSWORD.as_bytes(), TOKEN.as_bytes()];
    for (mechanism, creds, challenges) in exchanges {
        let mut auth = Authenticator::new(mechanism, creds, NONCE).unwrap();
        printed.auth(&auth);
        if let Some(initial) = auth.initial_response() {
            printed.secret(&initial);
        }
        for challenge in challenges {
            printed.step(&mut auth, challenge);
        }
    }

    #[cfg(feature = "scram")]
    {
        // The RFC 7677 exchange, password "pencil", then a forged server-final.
        secrets.push(b"pencil");
        let creds = password("user", "pencil");
        printed.text.push(format!("{creds:?}"));
        for last in [
            &b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="[..],
            b"v=AAAA",
        ] {
            let mut auth = Authenticator::with_printable_nonce(
                Mechanism::ScramSha256,
                &creds,
                "rOprNGfwEbeRWgbNEkqO",
            )
            .unwrap();
            printed.auth(&auth);
            let initial = auth.initial_response().unwrap();
            printed.secret(&initial);
            printed.step(
                &mut auth,
                b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            );
            printed.step(&mut auth, last);
        }
    }

    // What must never appear: each secret, its base64 at every alignment, and the base64 of
    // every response that holds one.
    let mut forbidden: Vec<String> = Vec::new();
    for secret in &secrets {
        forbidden.push(String::from_utf8(secret.to_vec()).unwrap());
        forbidden.extend(base64_fragments(secret));
    }
    for response in &printed.responses {
        if secrets
            .iter()
            .any(|s| response.windows(s.len()).any(|w| w == *s))
        {
            forbidden.push(String::from_utf8(bytes(encode_response(response))).unwrap());
        }
    }
    assert!(forbidden.len() > 10, "the test must check something");
    for text in &printed.text {
        for needle in &forbidden {
            assert!(!text.contains(needle.as_str()), "{text:?} shows {needle:?}");
        }
    }
    // And the checks are not vacuous: the responses really did carry the secrets.
    assert!(printed
        .responses
        .iter()
        .any(|r| r.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes())));
    assert!(printed
        .responses
        .iter()
        .any(|r| r.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes())));
}
