//! [`declare_measured`]: a measured content's size and 8-bit octets, declared in the envelope.

use mailwire::body::ContentMeter;
use mailwire::command::BodyType;
use mailwire::Envelope;

/// Declares content measured with a [`ContentMeter`] in the envelope: its RFC 1870 size as
/// `SIZE=` unless the caller declared a size, and `BODY=` (`8BITMIME` for content with octets
/// above 127, `7BIT` otherwise) unless the caller set it. Every adapter's `declare_content` and
/// `send_file` read the content through a meter, then call this.
///
/// Send the same content afterwards: the session then refuses before MAIL a message too large
/// for the server, or 8-bit for a server without 8BITMIME, and still counts what it sends.
pub fn declare_measured(envelope: &mut Envelope, meter: &ContentMeter) {
    let params = &mut envelope.params;
    params.size.get_or_insert(meter.size());
    if params.body.is_none() {
        params.body = Some(if meter.eight_bit() {
            BodyType::EightBitMime
        } else {
            BodyType::SevenBit
        });
    }
}
