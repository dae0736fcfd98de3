//! Reading the PEM files named in [`TlsOptions`](super::TlsOptions). Each file is read whole,
//! then parsed, so that a failure says which it was (reading or parsing) and names the file.

use super::error::{PemFile, TlsConfigError};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

fn read(file: PemFile, path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path).map_err(|source| TlsConfigError::Unreadable {
        file,
        path: path.to_path_buf(),
        source: Arc::new(source),
    })
}

fn bad_pem(file: PemFile, path: &Path, source: pem::Error) -> TlsConfigError {
    TlsConfigError::BadPem {
        file,
        path: path.to_path_buf(),
        source: Arc::new(source),
    }
}

/// Every `CERTIFICATE` section of the file, in order; at least one.
pub(super) fn certificates(
    file: PemFile,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let text = read(file, path)?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_pem(file, path, e))?;
    if certs.is_empty() {
        return Err(TlsConfigError::NothingFound {
            file,
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The file's first private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub(super) fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    let file = PemFile::ClientKey;
    let text = read(file, path)?;
    match PrivateKeyDer::from_pem_slice(&text) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => Err(TlsConfigError::NothingFound {
            file,
            path: path.to_path_buf(),
        }),
        Err(e) => Err(bad_pem(file, path, e)),
    }
}
