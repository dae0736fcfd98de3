//! Reply handling for the opening of the session (greeting, EHLO/HELO/LHLO, STARTTLS, AUTH) and
//! the dispatch of every reply to what it answers.

use super::{message, Client, Expect, Phase};
use crate::capability::Capabilities;
use crate::command::Command;
use crate::config::{Protocol, TlsPolicy};
use crate::error::Error;
use crate::event::Event;
use crate::reply::{Code, Reply};
use crate::sasl::{self, Authenticator};
use alloc::vec::Vec;

impl Client {
    pub(super) fn on_reply(&mut self, reply: Reply) {
        let stage = self.current_stage();
        // RFC 5321 3.8: 421 at any point (even unsolicited, in the middle of the content) means
        // the server is going away.
        if reply.code() == Code::SERVICE_NOT_AVAILABLE && self.pipeline.head() != Some(Expect::Quit)
        {
            return self.fail(Error::ServiceClosing { stage, reply });
        }
        let Some(expect) = self.pipeline.pop(self.now) else {
            // A server that refuses in the middle of the content (Postfix's smtp-sink -A, a
            // filter that stops reading) answers the message early: that is the message's
            // refusal, and the session cannot go on (the rest of the content would be read as
            // commands).
            if let Some(i) = self
                .messages
                .iter()
                .position(|m| m.emit == message::Emit::Body)
            {
                let m = &mut self.messages[i];
                m.fail(crate::event::Rejection::Data(reply.clone()));
                m.emit = message::Emit::Aborted;
                m.staged = Vec::new();
                self.settle(i);
                return self.fail(Error::Rejected { stage, reply });
            }
            return self.fail(Error::UnsolicitedReply(reply));
        };
        match expect {
            Expect::Greeting => self.on_greeting(reply),
            Expect::Hello { extended } => self.on_hello(extended, reply),
            Expect::StartTls => self.on_starttls(reply),
            Expect::Auth => self.on_auth(reply),
            Expect::Quit => self.close(Ok(())),
            Expect::Rset => {
                // A refused RSET leaves nothing we can do better than go on: the next MAIL
                // will tell. Only a 3yz is nonsense.
                if reply.is_positive_intermediate() {
                    self.fail(Error::UnexpectedReply { stage, reply });
                }
            }
            Expect::Side(command, _) => {
                if reply.is_positive_intermediate() {
                    return self.fail(Error::UnexpectedReply { stage, reply });
                }
                self.events
                    .push_back(Event::ReplyReceived { command, reply });
            }
            Expect::Mail(_)
            | Expect::Rcpt(..)
            | Expect::Data(_)
            | Expect::DataEnd(_)
            | Expect::LmtpRcpt(..)
            | Expect::Bdat(_) => self.on_message_reply(expect, reply),
        }
    }

    fn on_greeting(&mut self, reply: Reply) {
        let code = reply.code();
        if code == Code::SERVICE_READY {
            // RFC 5321 3.2: a client that wants HELO on old servers may look for "ESMTP".
            let esmtp = reply
                .line(0)
                .is_some_and(|l| l.windows(5).any(|w| w.eq_ignore_ascii_case(b"ESMTP")));
            self.events.push_back(Event::GreetingReceived(reply));
            let extended = self.config.protocol == Protocol::Lmtp
                || esmtp
                || !self.config.helo_without_esmtp_greeting;
            self.send_hello(extended);
        } else if code.is_transient() || code.is_permanent() {
            self.fail(Error::GreetingRejected(reply));
        } else {
            self.fail(Error::UnexpectedReply {
                stage: crate::Stage::Greeting,
                reply,
            });
        }
    }

    pub(super) fn send_hello(&mut self, extended: bool) {
        let name = self.config.client_name.clone();
        let command = match (extended, self.config.protocol) {
            (_, Protocol::Lmtp) => Command::Lhlo(&name),
            (true, Protocol::Smtp) => Command::Ehlo(&name),
            (false, Protocol::Smtp) => Command::Helo(&name),
        };
        self.send(command, Expect::Hello { extended });
    }

    fn on_hello(&mut self, extended: bool, reply: Reply) {
        if reply.is_positive_completion() {
            let caps = if extended {
                Capabilities::from_ehlo_reply(&reply)
            } else {
                // HELO: no extensions (RFC 5321 4.1.1.1).
                Capabilities::default()
            };
            self.events
                .push_back(Event::CapabilitiesChanged(caps.clone()));
            self.capabilities = Some(caps);
            return self.after_hello();
        }
        // RFC 5321 4.1.4: a server that does not know EHLO says 500 or 502; try HELO.
        let unknown = matches!(reply.code().get(), 500 | 502);
        if extended
            && unknown
            && self.config.helo_fallback
            && self.config.protocol == Protocol::Smtp
        {
            return self.send_hello(false);
        }
        if reply.is_transient() || reply.is_permanent() {
            self.fail(Error::Rejected {
                stage: crate::Stage::Hello,
                reply,
            });
        } else {
            self.fail(Error::UnexpectedReply {
                stage: crate::Stage::Hello,
                reply,
            });
        }
    }

    /// After EHLO: STARTTLS if wanted, else AUTH if configured, else ready.
    fn after_hello(&mut self) {
        let offered = self.capabilities.as_ref().is_some_and(|c| c.starttls);
        if !self.secure && !self.tls_done {
            match self.config.tls {
                TlsPolicy::Never => {}
                _ if offered => return self.send(Command::StartTls, Expect::StartTls),
                TlsPolicy::Required => return self.fail(Error::TlsNotOffered),
                TlsPolicy::Opportunistic => self.events.push_back(Event::TlsSkipped(None)),
            }
        }
        self.start_auth();
    }

    fn on_starttls(&mut self, reply: Reply) {
        if reply.code() == Code::SERVICE_READY {
            // The event is emitted at the end of this input, once it is known that nothing
            // followed the 220 (see `handle_input`).
            self.phase = Phase::AwaitingTls;
        } else if reply.is_transient() || reply.is_permanent() {
            if self.config.tls == TlsPolicy::Required {
                return self.fail(Error::TlsRejected(reply));
            }
            // Opportunistic: go on in plaintext, but never again ask (tls_done stays false;
            // `after_hello` is not re-entered for this connection).
            self.events.push_back(Event::TlsSkipped(Some(reply)));
            self.start_auth();
        } else {
            self.fail(Error::UnexpectedReply {
                stage: crate::Stage::StartTls,
                reply,
            });
        }
    }

    fn start_auth(&mut self) {
        let Some(auth) = self.config.auth.as_ref().filter(|_| !self.authenticated) else {
            return self.become_ready();
        };
        let offered = self
            .capabilities
            .as_ref()
            .map(|c| c.auth.as_slice())
            .unwrap_or_default();
        let Some(mechanism) = sasl::choose(
            offered,
            &auth.mechanisms,
            &auth.credentials,
            self.secure,
            auth.allow_plaintext,
        ) else {
            return self.fail(Error::NoUsableMechanism);
        };
        let mut authenticator =
            match Authenticator::new(mechanism.clone(), &auth.credentials, &auth.nonce) {
                Ok(a) => a,
                Err(e) => return self.fail(Error::Sasl(e)),
            };
        let initial = authenticator.initial_response().map(|ir| {
            if ir.expose().is_empty() {
                // RFC 4954 4: an empty initial response is sent as "=".
                crate::Secret::new(Vec::from(b"=".as_slice()))
            } else {
                sasl::encode_response(ir.expose())
            }
        });
        // RFC 4954 4: an initial response that would make the line exceed 512 octets is sent
        // after an empty 334 instead.
        let fits = initial
            .as_ref()
            .is_none_or(|ir| 5 + mechanism.name().len() + 1 + ir.expose().len() + 2 <= 512);
        let ir = initial
            .as_ref()
            .filter(|_| fits)
            .map(|ir| ir.expose().as_slice());
        self.send(
            Command::Auth {
                mechanism: &mechanism,
                initial_response: ir,
            },
            Expect::Auth,
        );
        if !fits {
            // Answer the first (empty) challenge with the whole initial response.
            self.deferred_response = initial;
        }
        self.authenticator = Some(authenticator);
    }

    fn on_auth(&mut self, reply: Reply) {
        let code = reply.code();
        if code == Code::AUTH_CHALLENGE {
            if let Some(response) = self.deferred_response.take() {
                return self.send(Command::AuthResponse(response.expose()), Expect::Auth);
            }
            let Some(authenticator) = self.authenticator.as_mut() else {
                return self.fail(Error::UnexpectedReply {
                    stage: crate::Stage::Auth,
                    reply,
                });
            };
            let challenge = match sasl::decode_challenge(reply.line(0).unwrap_or_default()) {
                Ok(c) => c,
                Err(e) => return self.fail(Error::Sasl(e)),
            };
            let response = match authenticator.step(&challenge) {
                Ok(r) => sasl::encode_response(r.expose()),
                Err(e) => return self.fail(Error::Sasl(e)),
            };
            self.send(Command::AuthResponse(response.expose()), Expect::Auth);
        } else if code == Code::AUTH_SUCCEEDED {
            let Some(authenticator) = self.authenticator.take() else {
                return self.fail(Error::UnexpectedReply {
                    stage: crate::Stage::Auth,
                    reply,
                });
            };
            if let Err(e) = authenticator.finish() {
                return self.fail(Error::Sasl(e));
            }
            self.authenticated = true;
            self.events
                .push_back(Event::Authenticated(authenticator.mechanism().clone()));
            self.become_ready();
        } else if code.is_transient() || code.is_permanent() {
            self.fail(Error::AuthFailed(reply));
        } else {
            self.fail(Error::UnexpectedReply {
                stage: crate::Stage::Auth,
                reply,
            });
        }
    }

    fn become_ready(&mut self) {
        self.phase = Phase::Ready;
        self.events.push_back(Event::Ready);
        // Messages queued before the capabilities were known are checked as they start.
        self.pump();
    }
}
