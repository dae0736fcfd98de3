//! TLS configuration: the options ([`TlsOptions`]), what they build for one server
//! ([`TlsSetup`]), and every way building can fail ([`TlsConfigError`]).

mod accept_any_certificate;
mod error;
mod negotiated;
mod options;
mod pem;
mod setup;

pub use error::{PemFile, TlsConfigError};
pub use negotiated::negotiated;
pub use options::{ClientCertificate, TlsOptions};
pub use setup::{parse_server_name, TlsSetup};
