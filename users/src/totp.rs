//! Time-based one-time passwords as libpam-google-authenticator checks
//! them: RFC 4648 base32 secrets, HOTP (RFC 4226) over HMAC-SHA1 (RFC
//! 2104), TOTP (RFC 6238) with 30-second steps and 6 digits, and the
//! `~/.google_authenticator` file that holds the secret.
//!
//! Everything but [`random_bytes`] and [`Secret::generate`] is pure; the
//! file text and the `otpauth://` URI are returned, not written.

use std::fmt;
use std::io::Read;
use vpsc_contract::Invalid;

use sha1::{Digest, Sha1};

/// Secret size: 80 bits, what `google-authenticator` generates.
const SECRET_BYTES: usize = 10;

/// Emergency scratch codes per user, as `google-authenticator` makes.
const SCRATCH_CODES: usize = 5;

/// RFC 6238's default time step, and the only one the PAM module reads
/// without a `STEP_SIZE` option.
const STEP: u64 = 30;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 §6 base32 in upper case without `=` padding, as
/// `google-authenticator` prints secrets.
pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        acc = (acc << 8 | u32::from(b)) & 0xfff;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[(acc >> bits & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[(acc << (5 - bits) & 31) as usize]));
    }
    out
}

/// Decodes base32 in either case, with or without trailing `=` padding.
pub fn base32_decode(text: &str) -> Result<Vec<u8>, Invalid> {
    let body = text.trim_end_matches('=');
    // 1, 3 or 6 characters past a full 8-character group cannot come from
    // whole bytes (RFC 4648 §6 lists the five possible endings).
    if matches!(body.len() % 8, 1 | 3 | 6) {
        return Err(Invalid::new(format!(
            "{text:?} is not base32: its length cannot encode whole bytes; copy the secret in full"
        )));
    }
    let mut out = Vec::with_capacity(body.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body.chars() {
        let v = BASE32
            .iter()
            .position(|&a| char::from(a) == c.to_ascii_uppercase())
            .ok_or_else(|| {
                format!("{text:?} is not base32: {c:?} is not one of A-Z and 2-7; copy the secret exactly")
            })?;
        acc = (acc << 5 | v as u32) & 0xfff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// HMAC-SHA1 (RFC 2104) of `message` under `key`.
fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha1::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha1::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The RFC 4226 HOTP value of `counter`, reduced to `digits` decimal
/// digits (not zero-padded; at most 10 are meaningful).
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mac = hmac_sha1(secret, &counter.to_be_bytes());
    // RFC 4226 §5.3 dynamic truncation: 31 bits at the offset named by the
    // low nibble of the last byte.
    let at = usize::from(mac[19] & 0xf);
    let code = u32::from_be_bytes([mac[at] & 0x7f, mac[at + 1], mac[at + 2], mac[at + 3]]);
    match 10u32.checked_pow(digits) {
        Some(modulus) => code % modulus,
        None => code,
    }
}

/// The 6-digit TOTP code at `unix_time`, zero-padded as authenticator apps
/// show it.
pub fn totp(secret: &[u8], unix_time: u64) -> String {
    format!("{:06}", hotp(secret, unix_time / STEP, 6))
}

/// `n` bytes from the kernel's CSPRNG.
pub fn random_bytes(n: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf)
}

/// A new TOTP secret with its emergency scratch codes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    key: Vec<u8>,
    scratch: Vec<u32>,
}

impl Secret {
    /// Draws a 10-byte key and 5 distinct 8-digit scratch codes from
    /// /dev/urandom.
    pub fn generate() -> std::io::Result<Secret> {
        Secret::generate_from(random_bytes)
    }

    fn generate_from(
        mut random: impl FnMut(usize) -> std::io::Result<Vec<u8>>,
    ) -> std::io::Result<Secret> {
        const SPAN: u32 = 90_000_000;
        // Rejection sampling keeps every code equally likely: values past
        // the last whole multiple of SPAN would favour the low codes.
        const LIMIT: u32 = u32::MAX / SPAN * SPAN;
        let key = random(SECRET_BYTES)?;
        let mut scratch = Vec::with_capacity(SCRATCH_CODES);
        while scratch.len() < SCRATCH_CODES {
            let bytes = <[u8; 4]>::try_from(random(4)?.as_slice())
                .map_err(|_| std::io::Error::other("the random source returned a short read"))?;
            let v = u32::from_be_bytes(bytes);
            // 10000000..=99999999: always eight digits, as the PAM module
            // compares the typed text with the line.
            let code = 10_000_000 + v % SPAN;
            if v < LIMIT && !scratch.contains(&code) {
                scratch.push(code);
            }
        }
        Ok(Secret { key, scratch })
    }

    /// The raw key.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The key in base32, as typed into an authenticator app.
    pub fn base32(&self) -> String {
        base32_encode(&self.key)
    }

    /// The emergency scratch codes, each usable once instead of a TOTP.
    pub fn scratch_codes(&self) -> &[u32] {
        &self.scratch
    }
}

/// Keeps the key and codes out of logs and panic messages.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("key", &"<redacted>")
            .field("scratch", &format_args!("<{} codes>", self.scratch.len()))
            .finish()
    }
}

/// The `~/.google_authenticator` text that `google-authenticator -t -d -f
/// -r 3 -R 30 -w 3` writes: the secret, the options, one scratch code per
/// line.
pub fn google_authenticator_file(secret_b32: &str, scratch: &[u32]) -> String {
    // google-authenticator inserts each option right after the secret, so
    // the last one it adds (RATE_LIMIT) comes first.
    let mut text = format!(
        "{secret_b32}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n"
    );
    for code in scratch {
        text.push_str(&format!("{code:08}\n"));
    }
    text
}

/// Reads the secret back from a `~/.google_authenticator` text, refusing
/// one the PAM module would not use for TOTP.
pub fn parse_google_authenticator(text: &str) -> Result<Vec<u8>, Invalid> {
    let redo = "enroll the user's TOTP again to write a new file";
    if text.trim().is_empty() {
        return Err(Invalid::new(format!("the file is empty: {redo}")));
    }
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("").trim_end();
    let secret = base32_decode(first)
        .map_err(|_| format!("the first line of the file is not a base32 secret: {redo}"))?;
    if secret.len() < SECRET_BYTES {
        return Err(Invalid::new(format!(
            "the secret is {} bits, fewer than the 80 google-authenticator makes: {redo}",
            secret.len() * 8
        )));
    }
    let mut totp_auth = false;
    for (n, line) in lines.enumerate() {
        let line = line.trim_end();
        if let Some(option) = line.strip_prefix("\" ") {
            let name = option.split(' ').next().unwrap_or("");
            match name {
                "TOTP_AUTH" => totp_auth = true,
                // pam_google_authenticator prefers HOTP when it sees this.
                "HOTP_COUNTER" => {
                    return Err(Invalid::new(format!(
                        "the file sets up counter-based (HOTP) codes, not time-based ones: {redo}"
                    )));
                }
                _ => {}
            }
        } else if !(line.len() == 8 && line.bytes().all(|b| b.is_ascii_digit())) {
            return Err(Invalid::new(format!(
                "line {} is neither a `\" OPTION` line nor an 8-digit scratch code: {redo}",
                n + 2
            )));
        }
    }
    if !totp_auth {
        return Err(Invalid::new(format!(
            "the file lacks the `\" TOTP_AUTH` line, so codes would not be time-based: {redo}"
        )));
    }
    Ok(secret)
}

/// The `otpauth://totp/` URI (Google's Key URI Format) that authenticator
/// apps read from a QR code.
pub fn otpauth_uri(account: &str, issuer: &str, secret_b32: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}",
        percent_encode(account),
        percent_encode(secret_b32)
    )
}

/// RFC 3986 percent-encoding of everything but the unreserved characters,
/// so `:`, `?`, `&`, `@` and spaces cannot change the URI's structure.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key of RFC 4226 Appendix D and RFC 6238 Appendix B (SHA-1).
    const RFC_KEY: &[u8] = b"12345678901234567890";

    #[test]
    fn base32_matches_rfc4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()), coded.trim_end_matches('='));
            for input in [
                coded.to_owned(),
                coded.trim_end_matches('=').to_ascii_lowercase(),
            ] {
                assert_eq!(
                    base32_decode(&input).as_deref(),
                    Ok(plain.as_bytes()),
                    "{input}"
                );
            }
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base32_decode(&base32_encode(&all)), Ok(all));
    }

    #[test]
    fn bad_base32_is_refused() {
        for (bad, says) in [
            ("MZXW1", "not one of A-Z and 2-7"),
            ("MZ XW", "not one of A-Z and 2-7"),
            ("M", "cannot encode whole bytes"),
            ("MZX", "cannot encode whole bytes"),
            ("MZXW6Y", "cannot encode whole bytes"),
        ] {
            let e = base32_decode(bad).expect_err(bad);
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn hmac_sha1_matches_rfc2202() {
        // RFC 2202 test cases 2 and 6 (the latter with a key longer than a
        // block, which is hashed first).
        for (key, data, mac) in [
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                vec![0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "aa4ae5e15272d00e95705637ce8a3b55ed402112",
            ),
        ] {
            let hex: String = hmac_sha1(&key, &data)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(hex, mac);
        }
    }

    #[test]
    fn hotp_matches_rfc4226_appendix_d() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, code) in expected.into_iter().enumerate() {
            assert_eq!(hotp(RFC_KEY, counter as u64, 6), code, "counter {counter}");
        }
    }

    #[test]
    fn totp_matches_rfc6238_sha1_vectors() {
        for (time, code) in [
            (59u64, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(RFC_KEY, time / 30, 8), code, "T={time}");
            assert_eq!(
                totp(RFC_KEY, time),
                format!("{:06}", code % 1_000_000),
                "T={time}"
            );
        }
        // Codes below 100000 keep their leading zeros.
        assert_eq!(totp(RFC_KEY, 1111111109), "081804");
        assert_eq!(hotp(RFC_KEY, 0, 12), hotp(RFC_KEY, 0, 10));
    }

    #[test]
    fn generated_secrets_have_ten_bytes_and_five_distinct_eight_digit_codes() {
        let secret = Secret::generate().expect("/dev/urandom");
        assert_eq!(secret.key().len(), 10);
        assert_eq!(secret.base32().len(), 16);
        assert_eq!(secret.scratch_codes().len(), 5);
        for code in secret.scratch_codes() {
            assert!((10_000_000..=99_999_999).contains(code), "{code}");
        }
        assert!(!format!("{secret:?}").contains(&secret.base32()));
    }

    #[test]
    fn scratch_codes_skip_biased_values_and_repeats() {
        // Key, then: a value past the last whole multiple (skipped), the
        // extremes, a repeat (skipped), and three more.
        let draws: Vec<Vec<u8>> = vec![
            vec![1; 10],
            u32::MAX.to_be_bytes().to_vec(),
            0u32.to_be_bytes().to_vec(),
            89_999_999u32.to_be_bytes().to_vec(),
            90_000_000u32.to_be_bytes().to_vec(),
            1u32.to_be_bytes().to_vec(),
            2u32.to_be_bytes().to_vec(),
            3u32.to_be_bytes().to_vec(),
        ];
        let mut draws = draws.into_iter();
        let secret = Secret::generate_from(|n| {
            let next = draws.next().unwrap_or_default();
            assert_eq!(next.len(), n);
            Ok(next)
        })
        .expect("enough draws");
        assert_eq!(secret.key(), &[1; 10]);
        assert_eq!(
            secret.scratch_codes(),
            &[10_000_000, 99_999_999, 10_000_001, 10_000_002, 10_000_003]
        );
    }

    #[test]
    fn google_authenticator_file_is_written_and_read_back() {
        let text = google_authenticator_file("JBSWY3DPEHPK3PXP", &[12345678, 10000000, 99999999]);
        assert_eq!(
            text,
            "JBSWY3DPEHPK3PXP\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n12345678\n10000000\n99999999\n"
        );
        assert_eq!(
            parse_google_authenticator(&text),
            base32_decode("JBSWY3DPEHPK3PXP")
        );
        let secret = Secret::generate().expect("/dev/urandom");
        let text = google_authenticator_file(&secret.base32(), secret.scratch_codes());
        assert_eq!(
            parse_google_authenticator(&text).as_deref(),
            Ok(secret.key())
        );
    }

    #[test]
    fn unusable_google_authenticator_files_are_refused() {
        for (text, says) in [
            ("", "empty"),
            ("\n\n", "empty"),
            ("JBSWY3DP!HPK3PXP\n\" TOTP_AUTH\n", "not a base32 secret"),
            ("JBSWY3DP\n\" TOTP_AUTH\n", "40 bits"),
            (
                "JBSWY3DPEHPK3PXP\n\" RATE_LIMIT 3 30\n12345678\n",
                "TOTP_AUTH",
            ),
            (
                "JBSWY3DPEHPK3PXP\n\" HOTP_COUNTER 1\n\" TOTP_AUTH\n",
                "counter-based",
            ),
            ("JBSWY3DPEHPK3PXP\n\" TOTP_AUTH\n1234\n", "line 3"),
            ("JBSWY3DPEHPK3PXP\n\"TOTP_AUTH\n", "line 2"),
        ] {
            let e = parse_google_authenticator(text).expect_err(text);
            assert!(e.contains(says) && e.contains("enroll"), "{text:?}: {e}");
        }
    }

    #[test]
    fn otpauth_uri_percent_encodes_account_and_issuer() {
        for (account, issuer, uri) in [
            (
                "alice",
                "vpsc",
                "otpauth://totp/vpsc:alice?secret=JBSWY3DPEHPK3PXP&issuer=vpsc",
            ),
            (
                "alice@web1.example.org",
                "ACME Corp",
                "otpauth://totp/ACME%20Corp:alice%40web1.example.org?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Corp",
            ),
            (
                "a:b&c=d?",
                "Zoë",
                "otpauth://totp/Zo%C3%AB:a%3Ab%26c%3Dd%3F?secret=JBSWY3DPEHPK3PXP&issuer=Zo%C3%AB",
            ),
        ] {
            assert_eq!(otpauth_uri(account, issuer, "JBSWY3DPEHPK3PXP"), uri);
        }
    }
}

/// Property tests: a `~/.google_authenticator` is the user's own file;
/// whatever it holds, reading it gives a secret or a message, never a
/// panic, and what vpsc writes reads back.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn hostile_text(max: usize) -> impl Strategy<Value = String> {
        let c = prop_oneof![
            any::<char>(),
            prop::sample::select(vec!['\n', '\r', '\0', '"', ' ', '=', 'A', '2', '7', 'Z']),
        ];
        prop::collection::vec(c, 0..max).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_file_is_a_secret_or_a_message(text in hostile_text(300)) {
            let _ = parse_google_authenticator(&text);
            let _ = base32_decode(&text);
        }

        #[test]
        fn a_written_file_reads_back(key in prop::collection::vec(any::<u8>(), 10..40),
                                     scratch in prop::collection::vec(10_000_000u32..100_000_000, 0..6),
                                     junk in hostile_text(40)) {
            let text = google_authenticator_file(&base32_encode(&key), &scratch);
            prop_assert_eq!(parse_google_authenticator(&text), Ok(key.clone()));
            // Lines appended after the options (by hand) do not panic either.
            let _ = parse_google_authenticator(&format!("{text}{junk}"));
        }
    }
}
