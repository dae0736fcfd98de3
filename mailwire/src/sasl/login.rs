//! LOGIN (draft-murchison-sasl-login-00): the user name, then the password, each in answer to a
//! challenge.
//!
//! The challenges are usually `Username:` and `Password:`, but the draft (section 2) says their
//! text is only a hint, and servers vary (`User Name`, localised prompts, empty ones), so the
//! answers go by position: first the user name, then the password.

use super::SaslError;
use crate::secret::Secret;
use alloc::string::String;
use alloc::vec::Vec;

/// How far the LOGIN exchange got.
enum Stage {
    WantUsername,
    WantPassword,
    Done,
}

pub(super) struct Login {
    username: Secret<Vec<u8>>,
    password: Secret<Vec<u8>>,
    stage: Stage,
}

impl Login {
    pub(super) fn new(username: &str, password: &Secret<String>) -> Login {
        Login {
            username: Secret::new(username.as_bytes().to_vec()),
            password: Secret::new(password.expose().as_bytes().to_vec()),
            stage: Stage::WantUsername,
        }
    }

    pub(super) fn step(&mut self, _challenge: &[u8]) -> Result<Secret<Vec<u8>>, SaslError> {
        match self.stage {
            Stage::WantUsername => {
                self.stage = Stage::WantPassword;
                Ok(self.username.clone())
            }
            Stage::WantPassword => {
                self.stage = Stage::Done;
                // Give the password away rather than clone it: it is needed only once.
                Ok(core::mem::take(&mut self.password))
            }
            Stage::Done => Err(SaslError::UnexpectedChallenge),
        }
    }

    pub(super) fn stage(&self) -> &'static str {
        match self.stage {
            Stage::WantUsername => "awaiting user name challenge",
            Stage::WantPassword => "awaiting password challenge",
            Stage::Done => "done",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// draft-murchison-sasl-login 2: user name first, password second, whatever the prompt says.
    #[test]
    fn login_answers_by_position_not_prompt_text() {
        let mut login = Login::new("user", &Secret::new(String::from("pw")));
        assert_eq!(
            login.step(b"Password:").unwrap().expose().as_slice(),
            b"user"
        );
        assert_eq!(login.step(b"").unwrap().expose().as_slice(), b"pw");
        assert_eq!(
            login.step(b"Password:").err(),
            Some(SaslError::UnexpectedChallenge)
        );
    }
}
