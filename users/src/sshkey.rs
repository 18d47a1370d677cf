//! OpenSSH public keys as a person hands them in: one `type base64
//! [comment]` line of a `.pub` file, checked down to the bytes of the key.
//!
//! A [`PublicKey`] only exists for a key sshd would accept and we consider
//! strong: ed25519, ECDSA on the NIST curves, their FIDO (`sk-`) forms, and
//! RSA of at least 3072 bits. The wire format is RFC 4253 §6.6 (`ssh-rsa`),
//! RFC 5656 §3.1 (ECDSA), RFC 8709 (ed25519) and OpenSSH's PROTOCOL.u2f.

use sha2::{Digest, Sha256};
use vpsc_contract::Invalid;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

/// How to make a key we accept, for every message that refuses one.
const GENERATE: &str = "generate an ed25519 key with `ssh-keygen -t ed25519`";

/// NIST P-521 needs 66 bytes per coordinate, so an RSA modulus or an EC
/// point is the largest field; OpenSSH refuses RSA above 16384 bits
/// (SSH_RSA_MAXIMUM_MODULUS_SIZE), so a line longer than this is not a key.
const MAX_BASE64: usize = 8192;

/// The least RSA modulus accepted: NIST SP 800-57 puts 2048-bit RSA at
/// 112-bit security, acceptable only until 2030; 3072 gives 128.
const MIN_RSA_BITS: u32 = 3072;

/// OpenSSH's SSH_RSA_MAXIMUM_MODULUS_SIZE: sshd refuses larger keys.
const MAX_RSA_BITS: u32 = 16384;

/// An OpenSSH public key that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    kind: String,
    blob: Vec<u8>,
    comment: String,
    bits: u32,
}

impl PublicKey {
    /// Parses one `type base64 [comment]` line, as in a `.pub` file.
    pub fn parse(line: &str) -> Result<PublicKey, Invalid> {
        let line = line.trim();
        if line.starts_with("-----BEGIN") {
            return Err("this is a private key: pass the .pub file (e.g. ~/.ssh/id_ed25519.pub) and keep the private key to yourself".into());
        }
        if line.starts_with("---- BEGIN SSH2 PUBLIC KEY") {
            return Err("this is an RFC 4716 (SSH2/PuTTY) public key: convert it with `ssh-keygen -i -f FILE` and pass the one-line result".into());
        }
        if line.starts_with("PuTTY-User-Key-File") {
            return Err("this is a PuTTY private key (.ppk): export the OpenSSH public key with `puttygen KEY.ppk -O public-openssh` and pass that".into());
        }
        let (kind, rest) = field(line);
        if kind.is_empty() {
            return Err(Invalid::new(format!(
                "the key line is empty: pass the .pub file, or {GENERATE}"
            )));
        }
        let Some(shape) = Shape::of(kind) else {
            return Err(unknown_kind(line, kind));
        };
        let (encoded, comment) = field(rest);
        if encoded.is_empty() {
            return Err(Invalid::new(format!(
                "the `{kind}` key has no key data after its type: copy the whole line of the .pub file"
            )));
        }
        if encoded.len() > MAX_BASE64 {
            return Err(Invalid::new(format!(
                "the `{kind}` key data is {} characters long, more than any key we accept: pass a single .pub line, or {GENERATE}",
                encoded.len()
            )));
        }
        let blob = STANDARD.decode(encoded).map_err(|why| {
            format!(
                "the `{kind}` key data is not valid base64 ({why}): copy the line of the .pub file unchanged"
            )
        })?;
        if let Some(c) = comment.chars().find(|c| c.is_control()) {
            return Err(Invalid::new(format!(
                "the key's comment {comment:?} contains the control character {c:?}: keep the comment on one line of printable text, or remove it"
            )));
        }
        let bits = shape.check(kind, &blob)?;
        Ok(PublicKey {
            kind: kind.to_owned(),
            blob,
            comment: comment.to_owned(),
            bits,
        })
    }

    /// Parses the text of a `.pub` file: exactly one key, blank lines and
    /// `#` comments ignored.
    pub fn parse_file(text: &str) -> Result<PublicKey, Invalid> {
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let key = PublicKey::parse(trimmed).map_err(|e| format!("line {}: {e}", n + 1))?;
            keys.push((n + 1, key));
        }
        match keys.len() {
            0 => Err(Invalid::new(format!(
                "no public key found (the file is empty or only comments): pass the .pub file written by ssh-keygen, or {GENERATE}"
            ))),
            1 => Ok(keys.remove(0).1),
            count => Err(Invalid::new(format!(
                "{count} keys found (lines {}): pass a file with exactly one key, and add the others one by one",
                keys.iter()
                    .map(|(n, _)| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The key type, e.g. `ssh-ed25519`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The decoded key data (the SSH wire encoding of the key).
    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    /// The comment after the key, often `user@host`; empty if none.
    pub fn comment(&self) -> &str {
        &self.comment
    }

    /// Key size in bits, as `ssh-keygen -l` prints it.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// `SHA256:…`, the fingerprint `ssh-keygen -lf` prints.
    pub fn fingerprint(&self) -> String {
        format!(
            "SHA256:{}",
            STANDARD_NO_PAD.encode(Sha256::digest(&self.blob))
        )
    }

    /// The key as one `authorized_keys` line (without options or newline).
    pub fn to_line(&self) -> String {
        let data = STANDARD.encode(&self.blob);
        if self.comment.is_empty() {
            format!("{} {data}", self.kind)
        } else {
            format!("{} {data} {}", self.kind, self.comment)
        }
    }
}

/// The first space- or tab-separated field of `s`, and the rest with its
/// leading blanks removed (sshd's own splitting of a key line).
fn field(s: &str) -> (&str, &str) {
    match s.find([' ', '\t']) {
        Some(at) => (&s[..at], s[at..].trim_start_matches([' ', '\t'])),
        None => (s, ""),
    }
}

/// The message for a first field that is no key type we accept.
fn unknown_kind(line: &str, kind: &str) -> Invalid {
    if kind == "ssh-dss" {
        return Invalid::new(format!(
            "DSA keys (`ssh-dss`) are insecure and disabled since OpenSSH 9.8: {GENERATE}"
        ));
    }
    // A known type further on means `kind` was an authorized_keys option
    // list such as `from="10.0.0.0/8",no-pty`.
    let later = line
        .split([' ', '\t'])
        .skip(1)
        .any(|f| Shape::of(f).is_some() || f == "ssh-dss");
    if later {
        return Invalid::new(
            "authorized_keys options before the key type (such as `from=` or `command=`) are not accepted: pass the plain key line of the .pub file; restrictions are set by vpsc",
        );
    }
    let shown: String = kind.chars().take(40).collect();
    Invalid::new(format!(
        "{shown:?} is not a supported SSH key type: use ssh-ed25519 (recommended), ecdsa-sha2-nistp256/384/521, a FIDO key (sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com) or ssh-rsa of at least {MIN_RSA_BITS} bits; {GENERATE}"
    ))
}

/// The key types accepted, by the fields of their blob.
#[derive(Clone, Copy)]
enum Shape {
    /// string type, string key(32) [, string application].
    Ed25519 { sk: bool },
    /// string type, string curve, string point [, string application].
    Ecdsa {
        curve: &'static str,
        bits: u32,
        sk: bool,
    },
    /// string type, mpint e, mpint n.
    Rsa,
}

impl Shape {
    fn of(kind: &str) -> Option<Shape> {
        let ecdsa = |curve, bits, sk| Shape::Ecdsa { curve, bits, sk };
        Some(match kind {
            "ssh-ed25519" => Shape::Ed25519 { sk: false },
            "sk-ssh-ed25519@openssh.com" => Shape::Ed25519 { sk: true },
            "ecdsa-sha2-nistp256" => ecdsa("nistp256", 256, false),
            "ecdsa-sha2-nistp384" => ecdsa("nistp384", 384, false),
            "ecdsa-sha2-nistp521" => ecdsa("nistp521", 521, false),
            "sk-ecdsa-sha2-nistp256@openssh.com" => ecdsa("nistp256", 256, true),
            "ssh-rsa" => Shape::Rsa,
            _ => return None,
        })
    }

    /// Reads `blob` as a key of this shape and returns its size in bits.
    fn check(self, kind: &str, blob: &[u8]) -> Result<u32, Invalid> {
        let mut r = Reader { kind, rest: blob };
        let inner = r.string("type")?;
        if inner != kind.as_bytes() {
            return Err(Invalid::new(format!(
                "the line says `{kind}` but its key data is of type {:?}: the line was edited or pieced together; copy the .pub file unchanged",
                String::from_utf8_lossy(inner)
            )));
        }
        let bits = match self {
            Shape::Ed25519 { sk } => {
                let key = r.string("public key")?;
                if key.len() != 32 {
                    return Err(r.broken(&format!(
                        "its public key is {} bytes instead of 32",
                        key.len()
                    )));
                }
                if sk {
                    r.string("application")?;
                }
                256
            }
            Shape::Ecdsa { curve, bits, sk } => {
                let named = r.string("curve name")?;
                if named != curve.as_bytes() {
                    return Err(r.broken(&format!(
                        "it names curve {:?} instead of {curve}",
                        String::from_utf8_lossy(named)
                    )));
                }
                // SEC 1 §2.3.3 uncompressed point 0x04 || X || Y, the only
                // form OpenSSH reads.
                let point = r.string("curve point")?;
                let expected = 1 + 2 * bits.div_ceil(8) as usize;
                if point.len() != expected || point[0] != 4 {
                    return Err(r.broken(&format!(
                        "its curve point is not an uncompressed {curve} point ({expected} bytes starting with 0x04)"
                    )));
                }
                if sk {
                    r.string("application")?;
                }
                bits
            }
            Shape::Rsa => {
                let e = r.mpint("exponent")?;
                if e.is_empty() || e[e.len() - 1] & 1 == 0 {
                    return Err(r.broken("its public exponent is not an odd number"));
                }
                let n = r.mpint("modulus")?;
                let bits = bit_length(n);
                if bits < MIN_RSA_BITS {
                    return Err(Invalid::new(format!(
                        "RSA key of {bits} bits: at least {MIN_RSA_BITS} are required; {GENERATE}"
                    )));
                }
                if bits > MAX_RSA_BITS {
                    return Err(Invalid::new(format!(
                        "RSA key of {bits} bits: sshd refuses more than {MAX_RSA_BITS}; {GENERATE}"
                    )));
                }
                bits
            }
        };
        if !r.rest.is_empty() {
            return Err(r.broken(&format!("{} unexpected bytes follow the key", r.rest.len())));
        }
        Ok(bits)
    }
}

/// Significant bits of a big-endian unsigned number.
fn bit_length(n: &[u8]) -> u32 {
    match n.iter().position(|&b| b != 0) {
        None => 0,
        Some(first) => {
            let bytes = u32::try_from(n.len() - first).unwrap_or(u32::MAX / 8);
            (bytes - 1) * 8 + (8 - n[first].leading_zeros())
        }
    }
}

/// Reads RFC 4251 §5 `string` and `mpint` fields from a key blob.
struct Reader<'a> {
    kind: &'a str,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A `uint32` length, then that many bytes.
    fn string(&mut self, what: &str) -> Result<&'a [u8], Invalid> {
        let truncated = || {
            Invalid::new(format!(
                "the `{}` key data is truncated (its {what} is cut short): copy the whole line of the .pub file",
                self.kind
            ))
        };
        let (len, rest) = self.rest.split_first_chunk::<4>().ok_or_else(truncated)?;
        let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| truncated())?;
        if rest.len() < len {
            return Err(truncated());
        }
        let (value, rest) = rest.split_at(len);
        self.rest = rest;
        Ok(value)
    }

    /// A positive `mpint`: two's complement, so a leading zero byte only
    /// where the top bit is set.
    fn mpint(&mut self, what: &str) -> Result<&'a [u8], Invalid> {
        let v = self.string(what)?;
        match v {
            [first, ..] if first & 0x80 != 0 => {
                Err(self.broken(&format!("its {what} is negative")))
            }
            [0, second, ..] if second & 0x80 == 0 => {
                Err(self.broken(&format!("its {what} has a superfluous leading zero")))
            }
            _ => Ok(v),
        }
    }

    fn broken(&self, why: &str) -> Invalid {
        Invalid::new(format!(
            "the `{}` key data is damaged: {why}; copy the .pub file unchanged, or {GENERATE}",
            self.kind
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated with OpenSSH 9.2p1 `ssh-keygen -t … -N ''`; the expected
    // fingerprints and sizes are what `ssh-keygen -lf` printed for them.
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEkf88LENAZ/mfqh7OrMMmM69elAKfkWEwu134GGxoBy alice@laptop";
    const ECDSA256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFq0aM97IRMAIBSHyhHfBcapU6o3XNV4kqRtaVjWJYvIgaOVTNt+SleZxWa7xrH5Wvp3LiURboVTJ3VPzZ6rIY4= ec256";
    const ECDSA384: &str = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBL1cI4dCNKo+irhENXAAqmcLemryY16/RVIaGCvdCFVIA+9P28CHSA6iKemYcfxHqJXdgHtnvE0VkcVoYiloKyK1e+9W3Z5JpIoNl1LcsiC2hzoEdEyktPgpjP1MO3r2Dw== ec384";
    const ECDSA521: &str = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBADCtmnGgafAbupNxD2eQBCLcRk/1+1s0Ooe0BF3p7kR+InPuLGe5+B2nKC6hroM7/MoUxP9zqzs5TzeBCE/oNXV/wGbOC4PIQz1zVhtwNsrvWo3xPuykOevTCntMxibKAfUQa7Ugwusf8+y8nsN0Nj+w3P/hRISPfBcLyAtQUdbE+TnpQ== ec521";
    const RSA2048: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDcXgcxeO9qkDXx/uTFRwwyX2n/dFLZ2It2mQAAcgBzQCSOamCcNLslJeVaaQ3bwG+Uc43ap6lI1TrDHKcOPVP5JXijZjZsuTpp4QUgJq5nyJdu74Pa/NscHOdGEATlJtj7I2IPM4uMebq00uEhowWVVtyW2eur/D33XvyJPLl4vA4f4Noyds0PrtmD+T1UrqylctLHtluUjvfGv0Mi0paZzTreATVWnPGs/LofIWUQF73nrvAAZDtSfaj4sy3+K5lguV85+tyy4PnWs3Gyl9R3zNUpyQKfjYe7pSeSLT069cVy7+jP9RhxunY6VzSf3mAqI3+l64+Q+oYGBBBE/oWX old@box";
    // ssh-keygen -C '' writes a trailing space after the key data.
    const RSA3072: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDZ5HmiIDvKL5rt0lnmF1XWQQ8IcgErCDYj5gH7bF8A4mhaODxBOh6wyXF+K7jqMKUlMs7SwMvSsp2w4nFrAFgeQmVluJQ/4YKQO0fFuC012FkVnKkMzlPXCTWvYl7iHoKrD1Wlpo2c7MmjZCJtNhtRkjMxOxIz7sFOBcqNPgK95h3QewNsOKd7x9YEVDqSgMgtfGz6lGrMJtL9WDmtXzCTd1znrJhuJYZplNsCkLzeyITNt4L7zAH68YfXq0rl3BNI7lRwqAL1gpn0TkR4REPfAUD8tfE+ummgaLh1Ho2Z7o4qLMxwx36otv74XOXgyagpt+i8hJK3oahVXXVrETdcBtHAVtdMAoqXDBArHKE0gC2N25DUudEu+r0ecXfmXDrP6lW3u3Wvy2INOTzPQzY6wR4smpX1YEzs7n1iNtW1xEcAuin0H5TU5B4d23Nle7y1Cpk8JNQES798vKFxO7yuWvHKTWT4pH2HNSyy3723P5Rkh2p3px/VB+nUqtOjCNU= ";
    const RSA4096: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAACAQDtpYGWGf4CYc+iPQjVG1qRMKorRgYxc1t5FxLZkkBxMXFeGSeH8+gVlHPaKK2uLglcjOz/uzSpSMkch6mukXN5t3+J76fsCe8ENWfo6KYdyHHyh37Ev/M9d8lOg8UHAEGstFV32NbDYqYCjW/sbrS1/fEWMtQy2AAnsZVI1MWmxCtCn9AgS5mCZJebb+ry/CJClh/gQVHImihqnIG0pcWuy0MFir33NbO0UIx/vfsM9osu/yRn4CKSskhQg/jqjcHdKtEf60pN9lODEQTa9jrsVcZrNZTGOMhFRuunoVBL7AEgI3qLg96VM79zT2SzJosyvQ0HMLu7hiixrnOdE0F24MC9m3TQdmjrvfs5ZDvqCOvJSrOZiV3Feh4eEacKi0DZDj0xytwKVw9Sk8TN0y4XJc61ux/TwV/zEcslqfZBZjtIqOoQ18p//4U73UUzHSetiwJZb2VGTxRdjQG9b2FFiV3PoE39zCLuDGNbwQ23mcljxL9D6JLYmQYk2gZtb9rLkF+EUJn+chuLRODuuMqK6Dy1dwDTgzQChZ0sqvhETEvTCIfgt6RNHnFAGXOqD8S640LNeZCdPRHLRWlBbf49Wj7uBwB0NJqbnVW8Obvou7slRjabOkJxVLLpfQ4vKGZr8VazVY3yPZbTdLHKEX8jpSdotsKd5P+3bcIDLqW1NQ== bob@desk";
    // FIDO keys need a token to generate; these reuse the ed25519 and
    // P-256 keys above with application "ssh:", and ssh-keygen -lf printed
    // the fingerprints as ED25519-SK and ECDSA-SK.
    const SK_ED25519: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIEkf88LENAZ/mfqh7OrMMmM69elAKfkWEwu134GGxoByAAAABHNzaDo= yubi";
    const SK_ECDSA: &str = "sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBFq0aM97IRMAIBSHyhHfBcapU6o3XNV4kqRtaVjWJYvIgaOVTNt+SleZxWa7xrH5Wvp3LiURboVTJ3VPzZ6rIY4AAAAEc3NoOg== yubi-ec";
    const DSA: &str = "ssh-dss AAAAB3NzaC1kc3MAAACBALmxZGLcmg43l+kZVbAXEOSXmQ1lmdIemYzJGyXeOGslwY5hnRpsi4ZLTuhnhgv8rd+sVOQIzgSVrimeTIyFXVPOBaEa7OxKMxDx+mBznr1Q5r2pizb6o6QaAFt/aU1CxyRAxzCDjMUu+vTq3HLsLU3bYTOGHuhx9JaQMX6bQWHRAAAAFQD7bhHmZfYIlYvz3Xykca2CeYBN7wAAAIBurcnCOO1FeK0zhuPnva+PW7NJoiOVXc+nXX8B96M8jOX7DX6GAZ2cumx0BgHqvBtTCzIcDozq8F6sYvhnpnvpPKl1AhxN3mscMdGMMnKiMg25u42AcPj/I0AlFFzuazabmoT5M2VeXFQpGvNVi15BmUh0I5LTh+Xw8Zlb53lyOwAAAIEAr6/jycGRF95XMrWaRaQM3gE7oM8mIeDClDnpudH8YNfJ0lp8tOrr1gCIpJYdkmRYXtsdE+r8tKtRmrgSFFaTU5JJ1O1O08j7Op74dDyyuTns5pKsG31UjFe3dkfP4spTcB01QeLoVCFWLSkgR9J1UI0xijFSnfqCRzROrS4kVmg= root@vm";

    /// Builds a blob from SSH `string` fields, for hand-made broken keys.
    fn blob(fields: &[&[u8]]) -> String {
        let mut b = Vec::new();
        for f in fields {
            b.extend_from_slice(&(f.len() as u32).to_be_bytes());
            b.extend_from_slice(f);
        }
        STANDARD.encode(&b)
    }

    #[test]
    fn real_keys_give_ssh_keygen_fingerprints() {
        for (line, kind, bits, fingerprint, comment) in [
            (
                ED25519,
                "ssh-ed25519",
                256,
                "SHA256:vRlF7xVuAdNb2g+QLwwUpMD/KUiytkN5pnfbjHQhZ/M",
                "alice@laptop",
            ),
            (
                ECDSA256,
                "ecdsa-sha2-nistp256",
                256,
                "SHA256:Su2hzmFQJXwTpWDcQOqQN/gMZXcWglUi2SiO56Vqi2Q",
                "ec256",
            ),
            (
                ECDSA384,
                "ecdsa-sha2-nistp384",
                384,
                "SHA256:Bfg1O31PcBWQJYTny0m6eBoJ7VfNrkr0iIh5zhhOb/k",
                "ec384",
            ),
            (
                ECDSA521,
                "ecdsa-sha2-nistp521",
                521,
                "SHA256:lYxrZ28qIwFLN/ChkZo5J13lQfTTSmC/FglkOnEYYNM",
                "ec521",
            ),
            (
                RSA3072,
                "ssh-rsa",
                3072,
                "SHA256:TvnNaZvrzuAUgpt8JhOgw3QXIjfSVHqSjQHFDgv9SOU",
                "",
            ),
            (
                RSA4096,
                "ssh-rsa",
                4096,
                "SHA256:cyU9UdlZIvZ9qlobLx30iHk4TZqnPim62Z22X3M2C94",
                "bob@desk",
            ),
            (
                SK_ED25519,
                "sk-ssh-ed25519@openssh.com",
                256,
                "SHA256:2A6nHiacwmNh+gx2T3kjrrT6mjMGeZhy1ohbT418TWU",
                "yubi",
            ),
            (
                SK_ECDSA,
                "sk-ecdsa-sha2-nistp256@openssh.com",
                256,
                "SHA256:SF9dJOCA4jlTYTgPG6sq2xi34z3mGcgu/+xFWNBZmzs",
                "yubi-ec",
            ),
        ] {
            let key = PublicKey::parse(line).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(key.kind(), kind);
            assert_eq!(key.bits(), bits, "{kind}");
            assert_eq!(key.fingerprint(), fingerprint, "{kind}");
            assert_eq!(key.comment(), comment, "{kind}");
            assert_eq!(key.to_line(), line.trim_end(), "{kind}");
        }
    }

    #[test]
    fn lines_tolerate_tabs_newlines_and_spaced_comments() {
        let data = ED25519.split(' ').nth(1).unwrap_or_default();
        let key = PublicKey::parse(&format!("  ssh-ed25519\t{data} \t first last@host  \n"))
            .expect("tab-separated key");
        assert_eq!(key.comment(), "first last@host");
        let e = PublicKey::parse(&format!("ssh-ed25519 {data} a\tb")).expect_err("tab in comment");
        assert!(e.contains("control character '\\t'"), "{e}");
        let key = PublicKey::parse(&ED25519.replace("alice@laptop", "Alice Ångström (laptop)"))
            .expect("comment with spaces");
        assert_eq!(key.comment(), "Alice Ångström (laptop)");
        let bare = ED25519.trim_end_matches(" alice@laptop");
        assert_eq!(
            PublicKey::parse(bare).map(|k| k.to_line()),
            Ok(bare.to_owned())
        );
    }

    #[test]
    fn weak_and_foreign_keys_are_refused_with_advice() {
        let e = PublicKey::parse(RSA2048).expect_err("2048-bit RSA");
        assert_eq!(
            e,
            "RSA key of 2048 bits: at least 3072 are required; generate an ed25519 key with `ssh-keygen -t ed25519`"
        );
        let e = PublicKey::parse(DSA).expect_err("DSA");
        assert!(e.contains("insecure") && e.contains("OpenSSH 9.8"), "{e}");
        for (line, says) in [
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----",
                "this is a private key: pass the .pub file",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----",
                "this is a private key: pass the .pub file",
            ),
            ("---- BEGIN SSH2 PUBLIC KEY ----", "ssh-keygen -i"),
            ("PuTTY-User-Key-File-3: ssh-ed25519", "puttygen"),
            (&format!("from=\"10.0.0.1\",no-pty {ED25519}"), "options"),
            (&format!("command=\"echo hi there\" {ED25519}"), "options"),
            (&format!("restrict {DSA}"), "options"),
            (
                "ssh-ed25519-cert-v01@openssh.com AAAA",
                "not a supported SSH key type",
            ),
            ("ssh-ed448 AAAA", "not a supported SSH key type"),
            (
                "AAAAC3NzaC1lZDI1NTE5AAAAIEkf88LENAZ",
                "not a supported SSH key type",
            ),
            ("", "empty"),
            ("ssh-ed25519", "no key data"),
        ] {
            let e = PublicKey::parse(line).expect_err(line);
            assert!(e.contains(says), "{line:?}: {e}");
        }
    }

    #[test]
    fn damaged_key_data_is_refused() {
        let ed_key = [7u8; 32];
        let point = {
            let mut p = vec![4u8];
            p.extend_from_slice(&[9u8; 64]);
            p
        };
        let full = ED25519.split(' ').nth(1).unwrap_or_default();
        let cases: Vec<(String, &str)> = vec![
            (ED25519.replacen("AAAAC3", "AAAA!3", 1), "not valid base64"),
            (ED25519.replacen("AAAAC3", "AAAAC", 1), "not valid base64"),
            (format!("ssh-ed25519 {}", &full[..44]), "truncated"),
            (
                format!("ssh-ed25519 {}", blob(&[b"ssh-ed25519", &ed_key[..31]])),
                "31 bytes instead of 32",
            ),
            (
                format!("ssh-ed25519 {}", blob(&[b"ssh-ed25519", &ed_key, b"x"])),
                "unexpected bytes",
            ),
            (
                format!("ssh-ed25519 {}", blob(&[b"ssh-rsa", &ed_key])),
                "its key data is of type \"ssh-rsa\"",
            ),
            (
                format!("ssh-rsa {}", full),
                "its key data is of type \"ssh-ed25519\"",
            ),
            (
                format!(
                    "sk-ssh-ed25519@openssh.com {}",
                    blob(&[b"sk-ssh-ed25519@openssh.com", &ed_key])
                ),
                "application",
            ),
            (
                format!(
                    "ecdsa-sha2-nistp384 {}",
                    blob(&[b"ecdsa-sha2-nistp384", b"nistp256", &point])
                ),
                "names curve \"nistp256\"",
            ),
            (
                format!(
                    "ecdsa-sha2-nistp256 {}",
                    blob(&[b"ecdsa-sha2-nistp256", b"nistp256", &point[..64]])
                ),
                "uncompressed",
            ),
            (
                format!("ssh-rsa {}", blob(&[b"ssh-rsa", &[1, 0, 1], &[0x80; 400]])),
                "negative",
            ),
            (
                format!("ssh-rsa {}", blob(&[b"ssh-rsa", &[1, 0, 0], &[0x70; 400]])),
                "not an odd number",
            ),
            (
                format!("ssh-rsa {}", blob(&[b"ssh-rsa", &[1, 0, 1], &[0, 0x70, 1]])),
                "superfluous leading zero",
            ),
            (
                format!("ssh-rsa {}", blob(&[b"ssh-rsa", &[1, 0, 1], &[0x7f; 2049]])),
                "more than 16384",
            ),
            (format!("{ED25519} evil\u{1b}[2J"), "control character"),
            (format!("{ED25519} line\rbreak"), "control character"),
        ];
        for (line, says) in &cases {
            let e = PublicKey::parse(line).expect_err(line);
            assert!(e.contains(says), "{line:?}: {e}");
        }
    }

    #[test]
    fn rsa_size_counts_modulus_bits_without_the_sign_byte() {
        let mut n = vec![0u8, 0x80];
        n.extend_from_slice(&[0xff; 383]);
        let key = PublicKey::parse(&format!("ssh-rsa {}", blob(&[b"ssh-rsa", &[3], &n])))
            .expect("3072-bit modulus");
        assert_eq!(key.bits(), 3072);
        let mut short = vec![0x7fu8];
        short.extend_from_slice(&[0xff; 383]);
        let e = PublicKey::parse(&format!("ssh-rsa {}", blob(&[b"ssh-rsa", &[3], &short])))
            .expect_err("3071-bit modulus");
        assert!(e.starts_with("RSA key of 3071 bits"), "{e}");
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0, 1]), 1);
    }

    #[test]
    fn files_hold_exactly_one_key() {
        let text = format!("# my laptop\n\n{ED25519}\n");
        assert_eq!(
            PublicKey::parse_file(&text).map(|k| k.fingerprint()),
            Ok("SHA256:vRlF7xVuAdNb2g+QLwwUpMD/KUiytkN5pnfbjHQhZ/M".to_owned())
        );
        for (text, says) in [
            (String::new(), "no public key found"),
            ("# nothing\n\n".to_owned(), "no public key found"),
            (format!("{ED25519}\n# second\n{ECDSA256}\n"), "2 keys found (lines 1, 3)"),
            (format!("\n{RSA2048}\n"), "line 2: RSA key of 2048 bits"),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----\n".to_owned(),
                "line 1: this is a private key: pass the .pub file",
            ),
        ] {
            let e = PublicKey::parse_file(&text).expect_err(&text);
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}

/// Property tests: whatever a user hands over as a key, the parser answers
/// with a key or a message, never a panic; a key it accepts is one line
/// that reads back as the same key.
#[cfg(test)]
mod properties {
    use super::PublicKey;
    use proptest::prelude::*;

    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEkf88LENAZ/mfqh7OrMMmM69elAKfkWEwu134GGxoBy alice@laptop";
    const ECDSA256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFq0aM97IRMAIBSHyhHfBcapU6o3XNV4kqRtaVjWJYvIgaOVTNt+SleZxWa7xrH5Wvp3LiURboVTJ3VPzZ6rIY4= ec256";
    const SK_ED25519: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIEkf88LENAZ/mfqh7OrMMmM69elAKfkWEwu134GGxoByAAAABHNzaDo= yubi";

    /// Characters that break lines, quoting or sudoers/authorized_keys
    /// syntax, mixed with anything at all.
    fn hostile_char() -> impl Strategy<Value = char> {
        prop_oneof![
            any::<char>(),
            prop::sample::select(vec![
                '\n', '\r', '\0', '\t', ' ', '"', '\'', '\\', ',', ':', '=', '#', '!', '*', '/',
                '+', 'A', 'a', '0',
            ]),
        ]
    }

    fn hostile_text(max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(hostile_char(), 0..max).prop_map(|v| v.into_iter().collect())
    }

    /// A real key line damaged: bytes replaced, cut, or text spliced in.
    fn damaged_line() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec![ED25519, ECDSA256, SK_ED25519]),
            any::<prop::sample::Index>(),
            hostile_text(12),
            0usize..3,
        )
            .prop_map(|(line, at, splice, how)| {
                let chars: Vec<char> = line.chars().collect();
                let i = at.index(chars.len());
                let (head, tail) = chars.split_at(i);
                let head: String = head.iter().collect();
                let tail: String = tail.iter().collect();
                match how {
                    0 => format!("{head}{splice}{tail}"),
                    1 => head,
                    _ => format!("{head}{splice}{}", tail.chars().skip(1).collect::<String>()),
                }
            })
    }

    fn reads_back(key: &PublicKey) {
        let line = key.to_line();
        assert!(!line.contains(['\n', '\r', '\0']), "{line:?}");
        let again = PublicKey::parse(&line).expect("an accepted key reads back");
        assert_eq!(again.blob(), key.blob());
        assert_eq!(again.kind(), key.kind());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_text_is_a_key_or_a_message(text in hostile_text(200)) {
            for key in [PublicKey::parse(&text), PublicKey::parse_file(&text)].iter().flatten() {
                reads_back(key);
            }
        }

        #[test]
        fn damaged_keys_are_refused_or_read_back(line in damaged_line()) {
            if let Ok(key) = PublicKey::parse(&line) {
                reads_back(&key);
            }
            let _ = PublicKey::parse_file(&line);
        }

        #[test]
        fn any_comment_stays_on_its_line(comment in hostile_text(40)) {
            let line = format!("{} {comment}", &ED25519[..ED25519.rfind(' ').expect("comment")]);
            if let Ok(key) = PublicKey::parse(&line) {
                reads_back(&key);
            }
        }
    }
}
