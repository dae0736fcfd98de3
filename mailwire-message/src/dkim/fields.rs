//! The header section split into fields, and the fields a signature covers, chosen as RFC 6376
//! 5.4.2 says: for each name in `h=`, the last instance not yet taken.

use super::error::DkimError;

/// One header field as it is in the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// The field's name, as written (without white space before the colon).
    pub(crate) name: &'a [u8],
    /// The whole field, folding included, without the CRLF that ends it.
    pub(crate) raw: &'a [u8],
}

/// RFC 5322 3.6.8: a field name is one or more printable ASCII characters but the colon.
pub(crate) fn is_field_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b) && b != b':')
}

/// Splits a header section (CRLF line ends, each field ending in CRLF, without the empty line
/// after it) into fields.
pub(crate) fn split(section: &[u8]) -> Result<Vec<Field<'_>>, DkimError> {
    let mut fields = Vec::new();
    // The field being read: where it starts, where its last line ends, its first line.
    let mut current: Option<(usize, usize, usize)> = None;
    let mut pos = 0;
    let mut line_no = 0;
    while pos < section.len() {
        line_no += 1;
        let end = section[pos..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(section.len(), |i| pos + i);
        let continuation = matches!(section[pos], b' ' | b'\t');
        match (&mut current, continuation) {
            (Some((_, last_end, _)), true) => *last_end = end,
            (None, true) => return Err(DkimError::MalformedHeader { line: line_no }),
            (_, false) => {
                if let Some((s, e, line)) = current.take() {
                    fields.push(field(&section[s..e], line)?);
                }
                current = Some((pos, end, line_no));
            }
        }
        pos = end + 2;
    }
    if let Some((s, e, line)) = current {
        fields.push(field(&section[s..e], line)?);
    }
    Ok(fields)
}

fn field(raw: &[u8], line: usize) -> Result<Field<'_>, DkimError> {
    let colon = raw
        .iter()
        .position(|&b| b == b':')
        .ok_or(DkimError::MalformedHeader { line })?;
    // RFC 5322 4.5.8 (obsolete syntax): white space may come between the name and the colon.
    let name = &raw[..colon];
    let name = &name[..name
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1)];
    if !is_field_name(name) {
        return Err(DkimError::MalformedHeader { line });
    }
    Ok(Field { name, raw })
}

/// The fields a signature with these `h=` names covers, in that order (RFC 6376 5.4.2): each
/// name takes the last instance of its field not taken yet, and a name with no instance left
/// takes nothing (which is what oversigning counts on).
pub(crate) fn select<'a>(fields: &[Field<'a>], names: &[String]) -> Vec<Field<'a>> {
    let mut taken = vec![false; fields.len()];
    let mut out = Vec::new();
    for name in names {
        let found = fields
            .iter()
            .enumerate()
            .rev()
            .find(|(i, f)| !taken[*i] && f.name.eq_ignore_ascii_case(name.as_bytes()));
        if let Some((i, f)) = found {
            taken[i] = true;
            out.push(*f);
        }
    }
    out
}
