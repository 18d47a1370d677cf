//! The `ar` container of a `.deb` (deb(5)): `debian-binary`, then the
//! control and data members, with zeroed owner and a fixed mtime so the
//! bytes depend only on the content.

use std::io::Write;

/// Writes an ar archive of `(name, bytes)` members with mtime `epoch`.
pub fn write(members: &[(&str, &[u8])], epoch: u64) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"!<arch>\n");
    for (name, data) in members {
        assert!(name.len() <= 16, "ar member names are at most 16 bytes");
        let _ = writeln!(
            out,
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`",
            name,
            epoch,
            0,
            0,
            "100644",
            data.len()
        );
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn members_are_padded_to_even_offsets() {
        let ar = super::write(&[("debian-binary", b"2.0\n"), ("x", b"abc")], 0);
        assert_eq!(&ar[..8], b"!<arch>\n");
        assert_eq!(ar.len(), 8 + 60 + 4 + 60 + 4);
    }
}
