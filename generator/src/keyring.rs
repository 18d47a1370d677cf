//! OpenPGP public keys of vendor repositories: ASCII armour removed
//! (RFC 4880 §6) so apt gets the binary keyring a `.gpg` name promises,
//! and the primary key's v4 fingerprint (§12.2) computed so a build
//! refuses a key file that is not the pinned key.

use sha1::{Digest, Sha1};
use vpsc_contract::Invalid;

/// A decoded key with its fingerprint.
pub struct Key {
    /// The binary transferable public key.
    pub binary: Vec<u8>,
    /// Upper-case hex fingerprint of the primary key.
    pub fingerprint: String,
}

/// Decodes an armoured public key block and fingerprints its primary key.
pub fn parse(armoured: &str) -> Result<Key, Invalid> {
    let mut lines = armoured.lines().map(str::trim);
    if !lines.any(|l| l == "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
        return Err("no `-----BEGIN PGP PUBLIC KEY BLOCK-----` line".into());
    }
    // Armour headers ("Version: …") end at the first empty line.
    let mut body = String::new();
    let mut in_headers = true;
    let mut checksum = None;
    for line in lines {
        if in_headers {
            if line.is_empty() {
                in_headers = false;
            } else if !line.contains(": ") {
                in_headers = false;
                body.push_str(line);
            }
            continue;
        }
        if line.starts_with("-----END PGP PUBLIC KEY BLOCK-----") {
            break;
        }
        if let Some(crc) = line.strip_prefix('=') {
            checksum = Some(crc.to_owned());
            continue;
        }
        body.push_str(line);
    }
    let binary = base64(&body)?;
    if let Some(crc) = checksum {
        let expected = base64(&crc)?;
        let actual = crc24(&binary).to_be_bytes();
        if expected.as_slice() != &actual[1..] {
            return Err("the armour checksum does not match: the key text is damaged".into());
        }
    }
    let fingerprint = primary_fingerprint(&binary)?;
    Ok(Key {
        binary,
        fingerprint,
    })
}

/// Decodes the armour's base64, whose lines are joined and whose padding
/// OpenPGP leaves optional.
fn base64(text: &str) -> Result<Vec<u8>, Invalid> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::{Engine, alphabet};
    const ARMOUR: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let text: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    ARMOUR
        .decode(text)
        .map_err(|e| Invalid::new(format!("the key text is not base64: {e}")))
}

fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00B7_04CE;
    for b in data {
        crc ^= u32::from(*b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4CFB;
            }
        }
    }
    crc & 0x00FF_FFFF
}

/// Fingerprint of the first packet, which must be a v4 public key.
fn primary_fingerprint(data: &[u8]) -> Result<String, Invalid> {
    let first = *data.first().ok_or("the key block is empty")?;
    if first & 0x80 == 0 {
        return Err("the key block does not start with an OpenPGP packet".into());
    }
    let (tag, header, len) = if first & 0x40 != 0 {
        // New packet format.
        let tag = first & 0x3f;
        let l0 = usize::from(*data.get(1).ok_or("truncated packet")?);
        match l0 {
            0..=191 => (tag, 2, l0),
            192..=223 => {
                let l1 = usize::from(*data.get(2).ok_or("truncated packet")?);
                (tag, 3, ((l0 - 192) << 8) + l1 + 192)
            }
            255 => {
                let b = data.get(2..6).ok_or("truncated packet")?;
                (
                    tag,
                    6,
                    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize,
                )
            }
            _ => return Err("partial-length public key packets are not allowed".into()),
        }
    } else {
        let tag = (first >> 2) & 0x0f;
        match first & 0x03 {
            0 => (tag, 2, usize::from(*data.get(1).ok_or("truncated packet")?)),
            1 => {
                let b = data.get(1..3).ok_or("truncated packet")?;
                (tag, 3, usize::from(u16::from_be_bytes([b[0], b[1]])))
            }
            2 => {
                let b = data.get(1..5).ok_or("truncated packet")?;
                (
                    tag,
                    5,
                    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize,
                )
            }
            _ => return Err("indeterminate-length packets are not allowed".into()),
        }
    };
    if tag != 6 {
        return Err(Invalid::new(format!(
            "the first packet has tag {tag}, not a public key (6)"
        )));
    }
    let body = data
        .get(header..header + len)
        .ok_or("the public key packet is truncated")?;
    if body.first() != Some(&4) {
        return Err(Invalid::new(format!(
            "the primary key is version {}, only version 4 keys are supported",
            body.first().copied().unwrap_or(0)
        )));
    }
    let len16 = u16::try_from(len).map_err(|_| "the public key packet is too long")?;
    let mut h = Sha1::new();
    h.update([0x99]);
    h.update(len16.to_be_bytes());
    h.update(body);
    Ok(crate::deb::hex(&h.finalize()).to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_text() {
        assert_eq!(base64("aGVsbG8gd29ybGQ=").expect("b64"), b"hello world");
    }

    #[test]
    fn damaged_armour_is_refused() {
        assert!(parse("no key here").is_err());
        let text = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBFYx\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n";
        assert!(parse(text).is_err());
    }
}
