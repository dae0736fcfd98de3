//! `--dkim-key` and its companions: a DKIM signature (RFC 6376, RFC 8463) on every message
//! sent, by `mailwire-message`'s [`DkimSigner`]. The key file is read once, before connecting;
//! a key that cannot be used is a usage or input error there, not a failure mid-run.

use crate::connect::CliError;
use crate::exit;
use clap::Args;
use mailwire_message::dkim::{Canonicalization, DkimError, DkimKey, DkimSigner};
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// DKIM signing options (shown under the "DKIM" heading).
#[derive(Args, Debug, Clone, Default)]
pub struct DkimArgs {
    /// Sign every message with DKIM using this private key file: PEM (PRIVATE KEY, RSA or
    /// Ed25519; RSA PRIVATE KEY), DER, or the base64 of a 32-byte Ed25519 seed. RSA keys are
    /// 2048 to 4096 bits. Needs --dkim-selector.
    #[arg(
        long,
        value_name = "PATH",
        requires = "dkim_selector",
        help_heading = "DKIM"
    )]
    pub dkim_key: Option<PathBuf>,
    /// The selector (s=): the public key is published at SELECTOR._domainkey.DOMAIN.
    #[arg(
        long,
        value_name = "SELECTOR",
        requires = "dkim_key",
        help_heading = "DKIM"
    )]
    pub dkim_selector: Option<String>,
    /// The signing domain (d=); default: the domain of --from.
    #[arg(
        long,
        value_name = "DOMAIN",
        requires = "dkim_key",
        help_heading = "DKIM"
    )]
    pub dkim_domain: Option<String>,
    /// Canonicalisation of the header and the body (c=): relaxed/relaxed (the default),
    /// simple/simple, relaxed/simple or simple/relaxed; one word sets both.
    #[arg(
        long,
        value_name = "HEADER/BODY",
        value_parser = parse_canonicalization,
        requires = "dkim_key",
        help_heading = "DKIM"
    )]
    pub dkim_canonicalization: Option<(Canonicalization, Canonicalization)>,
    /// The signature expires this many seconds after it is made (x=).
    #[arg(
        long,
        value_name = "SECONDS",
        requires = "dkim_key",
        help_heading = "DKIM"
    )]
    pub dkim_expire: Option<u64>,
    /// Print the DNS TXT record that publishes --dkim-key's public key, and exit.
    #[arg(long, requires = "dkim_key", help_heading = "DKIM")]
    pub dkim_print_record: bool,
}

/// `relaxed/simple`, or one word for both.
pub fn parse_canonicalization(text: &str) -> Result<(Canonicalization, Canonicalization), String> {
    let one = |word: &str| match word {
        "relaxed" => Ok(Canonicalization::Relaxed),
        "simple" => Ok(Canonicalization::Simple),
        other => Err(format!("{other:?} is neither relaxed nor simple")),
    };
    match text.split_once('/') {
        Some((h, b)) => Ok((one(h)?, one(b)?)),
        None => one(text).map(|c| (c, c)),
    }
}

impl DkimArgs {
    /// The key alone (for `--dkim-print-record`): 66 when the file cannot be read, 65 when it
    /// holds no usable key.
    pub fn key(&self) -> Result<Option<DkimKey>, CliError> {
        let Some(path) = &self.dkim_key else {
            return Ok(None);
        };
        let bytes = std::fs::read(path).map_err(|e| {
            CliError::new(
                exit::NOINPUT,
                format!("cannot read --dkim-key {}: {e}", path.display()),
            )
        })?;
        let key = DkimKey::parse(&bytes);
        // The file's bytes held the private key: not left in freed memory.
        let mut bytes = bytes;
        bytes.fill(0);
        core::hint::black_box(&bytes);
        key.map(Some).map_err(|e| {
            CliError::new(exit::DATAERR, format!("--dkim-key {}: {e}", path.display()))
        })
    }

    /// The signer the options describe, or `None` without `--dkim-key`. `from` is the
    /// envelope sender, whose domain is the default `d=`.
    pub fn signer(&self, from: Option<&str>) -> Result<Option<DkimSigner>, CliError> {
        let Some(key) = self.key()? else {
            return Ok(None);
        };
        let domain = match (&self.dkim_domain, from) {
            (Some(d), _) => d.clone(),
            (None, Some(from)) => match mailwire_message::Address::parse(from) {
                Ok(address) => address.mailbox().domain().to_string(),
                Err(e) => {
                    return Err(CliError::new(
                        exit::USAGE,
                        format!(
                            "--dkim-key: no domain to sign for in {from:?} ({e}); give \
                             --dkim-domain"
                        ),
                    ))
                }
            },
            (None, None) => {
                return Err(CliError::new(
                    exit::USAGE,
                    "--dkim-key needs --dkim-domain (or --from, whose domain it signs for)",
                ))
            }
        };
        let selector = self.dkim_selector.as_deref().unwrap_or_default();
        let mut signer = DkimSigner::new(&domain, selector, key).map_err(usage)?;
        if let Some((h, b)) = self.dkim_canonicalization {
            signer = signer.canonicalization(h, b);
        }
        if let Some(seconds) = self.dkim_expire {
            signer = signer.expire_after(Duration::from_secs(seconds));
        }
        Ok(Some(signer))
    }
}

fn usage(e: DkimError) -> CliError {
    CliError::new(exit::USAGE, e.to_string())
}

/// The signature field for the message `reader` gives, read to its end in pieces (only its
/// header section is held): 65 when the message cannot be signed (no From, a malformed
/// header), 74 when it cannot be read.
pub fn sign_reader(signer: &DkimSigner, mut reader: impl Read) -> Result<String, CliError> {
    let mut signing = signer.start();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(CliError::new(
                    exit::IOERR,
                    format!("cannot read the message to sign it: {e}"),
                ))
            }
        };
        signing.update(&buf[..n]).map_err(unsignable)?;
    }
    signing.finish(SystemTime::now()).map_err(unsignable)
}

fn unsignable(e: DkimError) -> CliError {
    CliError::new(exit::DATAERR, format!("cannot DKIM-sign the message: {e}"))
}

/// The signer's public key as a zone-file line: `SELECTOR._domainkey.DOMAIN. IN TXT ( "…" )`,
/// the record cut into strings of at most 255 octets (RFC 1035 3.3.14; RFC 6376 3.6.2.2 joins
/// them again).
pub fn zone_record(signer: &DkimSigner) -> String {
    let record = signer.key().dns_record();
    let strings: Vec<String> = record
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    format!(
        "{}._domainkey.{}. IN TXT ( {} )",
        signer.selector(),
        signer.domain(),
        strings.join(" ")
    )
}

/// `--dkim-print-record --json`: the record as one JSON object, `{"name":
/// "SELECTOR._domainkey.DOMAIN", "type": "TXT", "value": "v=DKIM1; …", "strings": […], "zone":
/// the zone-file line}` (`strings`: the value cut as [`zone_record`] cuts it).
pub fn record_json(signer: &DkimSigner) -> serde_json::Value {
    let record = signer.key().dns_record();
    let strings: Vec<String> = record
        .as_bytes()
        .chunks(255)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    serde_json::json!({
        "name": format!("{}._domainkey.{}", signer.selector(), signer.domain()),
        "type": "TXT",
        "value": record,
        "strings": strings,
        "zone": zone_record(signer),
    })
}
