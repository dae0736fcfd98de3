//! TLS configuration: the options ([`TlsOptions`]), what they build for one server
//! ([`TlsSetup`]), every way building can fail ([`TlsConfigError`]), and what an established
//! session negotiated ([`TlsInfo`]).

mod accept_any_certificate;
mod error;
mod info;
mod negotiated;
mod options;
mod pem;
mod setup;

pub use error::{PemFile, TlsConfigError};
pub use info::TlsInfo;
pub use negotiated::negotiated;
pub use options::{ClientCertificate, TlsOptions};
pub use setup::{parse_server_name, TlsSetup};
