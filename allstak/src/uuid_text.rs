//! UUIDs as text and as random bits: the one spelling of [`SessionId`](crate::SessionId) and
//! [`EventId`](crate::EventId) (lower-case, with dashes), read back in any case, with or without
//! dashes.

use std::fmt;

/// A random UUID v4 (RFC 4122 variant), from [`crate::random::random_u128`]: once a process.
pub(crate) fn random_v4() -> u128 {
    as_v4(crate::random::random_u128())
}

/// [`random_v4`] for what is drawn per event, from [`crate::random::fast_u128`].
pub(crate) fn fast_random_v4() -> u128 {
    as_v4(crate::random::fast_u128())
}

/// `bits` with the version (4) and variant (RFC 4122) of a random UUID.
fn as_v4(bits: u128) -> u128 {
    const ALL_BUT_VERSION_AND_VARIANT: u128 = 0xffff_ffff_ffff_0fff_3fff_ffff_ffff_ffff;
    const VERSION_4_AND_RFC_VARIANT: u128 = 0x0000_0000_0000_4000_8000_0000_0000_0000;
    bits & ALL_BUT_VERSION_AND_VARIANT | VERSION_4_AND_RFC_VARIANT
}

/// Writes `bits` as `8-4-4-4-12` lower-case hex digits.
pub(crate) fn write(bits: u128, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 36];
    let mut nibbles = (0..32)
        .rev()
        .map(|shift| usize::try_from(bits >> (shift * 4) & 0xf).unwrap_or(0));
    for (at, byte) in text.iter_mut().enumerate() {
        *byte = match at {
            8 | 13 | 18 | 23 => b'-',
            _ => nibbles.next().map_or(b'0', |nibble| DIGITS[nibble]),
        };
    }
    f.write_str(std::str::from_utf8(&text).unwrap_or_default())
}

/// The bits of a UUID written as [`write`] does, in any case, with or without its dashes.
pub(crate) fn parse(text: &str) -> Option<u128> {
    let dashed = match text.len() {
        32 => false,
        36 => true,
        _ => return None,
    };
    let digits = text
        .bytes()
        .enumerate()
        .filter(|&(at, byte)| !(dashed && matches!(at, 8 | 13 | 18 | 23) && byte == b'-'));
    let mut bits = 0u128;
    let mut count = 0usize;
    for (_, byte) in digits {
        let digit = char::from(byte).to_digit(16)?;
        bits = bits << 4 | u128::from(digit);
        count += 1;
    }
    (count == 32).then_some(bits)
}
