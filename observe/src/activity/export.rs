//! systemd's Journal Export Format (systemd.io/JOURNAL_EXPORT_FORMATS):
//! read, as `journalctl -o export` streams it, and written, for fixtures
//! and the benchmark that `systemd-journal-remote` turns into `.journal`
//! files.
//!
//! The reader keeps only the fields activity asks for, in one buffer
//! reused from entry to entry, and never holds more than [`MAX_FIELD`]
//! bytes of one field: journald accepts entries far larger than that from
//! any local user, and a hostile one must cost a skipped entry, not the
//! memory of the host.

use std::io::BufRead;

/// Longest field value kept; a longer one marks the entry oversized.
pub const MAX_FIELD: usize = 16 * 1024;

/// The fields activity reads, in the order of [`FIELD_NAMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Field {
    /// `__REALTIME_TIMESTAMP`: microseconds since the epoch.
    Realtime,
    /// `_BOOT_ID`.
    BootId,
    /// `MESSAGE`.
    Message,
    /// `SYSLOG_IDENTIFIER`: set by the sender, so not to be trusted alone.
    Identifier,
    /// `_PID`, set by journald.
    Pid,
    /// `_UID`, set by journald from the sender's credentials.
    Uid,
    /// `_EXE`, set by journald from `/proc/PID/exe`.
    Exe,
    /// `_SYSTEMD_UNIT`, set by journald from the sender's cgroup.
    Unit,
    /// `SESSION_ID` of logind's messages.
    SessionId,
    /// `USER_ID` of logind's messages (a user name).
    UserId,
    /// `CLASS` of logind's new-session messages.
    Class,
}

/// Names of the [`Field`]s, by index.
pub const FIELD_NAMES: [&str; 11] = [
    "__REALTIME_TIMESTAMP",
    "_BOOT_ID",
    "MESSAGE",
    "SYSLOG_IDENTIFIER",
    "_PID",
    "_UID",
    "_EXE",
    "_SYSTEMD_UNIT",
    "SESSION_ID",
    "USER_ID",
    "CLASS",
];

/// One entry: the wanted fields as ranges of a shared buffer.
#[derive(Debug, Default)]
pub struct Entry {
    buf: Vec<u8>,
    at: [Option<(usize, usize)>; FIELD_NAMES.len()],
    /// A field was longer than [`MAX_FIELD`] and was dropped.
    pub oversized: bool,
}

impl Entry {
    fn clear(&mut self) {
        self.buf.clear();
        self.at = [None; FIELD_NAMES.len()];
        self.oversized = false;
    }

    /// The raw bytes of `field`, if the entry has it (the first value, if
    /// it has several).
    pub fn bytes(&self, field: Field) -> Option<&[u8]> {
        self.at[field as usize].map(|(s, e)| &self.buf[s..e])
    }

    /// `field` as text; invalid UTF-8 (possible in any field) is `None`.
    pub fn text(&self, field: Field) -> Option<&str> {
        std::str::from_utf8(self.bytes(field)?).ok()
    }

    /// `field` as a decimal number.
    pub fn number(&self, field: Field) -> Option<i64> {
        self.text(field)?.parse().ok()
    }

    fn set(&mut self, field: usize, value: &[u8]) {
        if self.at[field].is_some() {
            return;
        }
        let start = self.buf.len();
        self.buf.extend_from_slice(value);
        self.at[field] = Some((start, self.buf.len()));
    }
}

fn field_index(name: &[u8]) -> Option<usize> {
    FIELD_NAMES.iter().position(|n| n.as_bytes() == name)
}

/// Reads export-format entries from a stream, one at a time.
pub struct Reader<R> {
    input: R,
    line: Vec<u8>,
    entry: Entry,
}

impl<R: BufRead> Reader<R> {
    /// A reader of `input`.
    pub fn new(input: R) -> Reader<R> {
        Reader {
            input,
            line: Vec::with_capacity(512),
            entry: Entry::default(),
        }
    }

    /// The next entry, `None` at the end; an I/O error ends the stream.
    pub fn next_entry(&mut self) -> std::io::Result<Option<&Entry>> {
        self.entry.clear();
        let mut any = false;
        loop {
            let (len, whole) = read_line(&mut self.input, &mut self.line, MAX_FIELD + 64)?;
            if len == 0 {
                return Ok(if any { Some(&self.entry) } else { None });
            }
            if !whole {
                any = true;
                self.entry.oversized = true;
                continue;
            }
            let line = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
            if line.is_empty() {
                if any {
                    return Ok(Some(&self.entry));
                }
                continue;
            }
            any = true;
            match line.iter().position(|&b| b == b'=') {
                Some(eq) => {
                    if let Some(i) = field_index(&line[..eq]) {
                        self.entry.set(i, &line[eq + 1..]);
                    }
                }
                // A binary field: its name alone, then a little-endian
                // 64-bit size, the data, and a newline.
                None => {
                    let wanted = field_index(line);
                    let mut size = [0u8; 8];
                    self.input.read_exact(&mut size)?;
                    let size = u64::from_le_bytes(size);
                    if size > MAX_FIELD as u64 {
                        self.entry.oversized = true;
                        skip(&mut self.input, size + 1)?;
                        continue;
                    }
                    let mut data = vec![0u8; size as usize + 1];
                    self.input.read_exact(&mut data)?;
                    data.pop();
                    if let Some(i) = wanted {
                        self.entry.set(i, &data);
                    }
                }
            }
        }
    }
}

/// Reads one line into `line` (cleared first), keeping at most `limit`
/// bytes: returns the bytes consumed and whether the line fit.
fn read_line(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<(usize, bool)> {
    line.clear();
    let mut consumed = 0;
    let mut whole = true;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((consumed, whole));
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        if whole && line.len() + chunk.len() <= limit {
            line.extend_from_slice(chunk);
        } else {
            whole = false;
        }
        let n = chunk.len();
        input.consume(n);
        consumed += n;
        if done {
            return Ok((consumed, whole));
        }
    }
}

fn skip(input: &mut impl BufRead, mut n: u64) -> std::io::Result<()> {
    while n > 0 {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let take = available
            .len()
            .min(usize::try_from(n).unwrap_or(usize::MAX));
        input.consume(take);
        n -= take as u64;
    }
    Ok(())
}

/// Appends one entry in export format to `out`: text fields as
/// `NAME=value`, a value with a newline or other control byte in the
/// binary form, as journalctl writes them.
pub fn write_entry(out: &mut Vec<u8>, fields: &[(&str, &[u8])]) {
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        if value.iter().any(|&b| b < 0x20 && b != b'\t') {
            out.push(b'\n');
            out.extend_from_slice(&(value.len() as u64).to_le_bytes());
        } else {
            out.push(b'=');
        }
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// Where Debian's `systemd-journal-remote` puts the tool.
pub const JOURNAL_REMOTE: &str = "/lib/systemd/systemd-journal-remote";

/// Turns the export-format file `export` into the journal file `journal`
/// (whose name must end in `.journal`) with `systemd-journal-remote`:
/// for tests and the benchmark, so they read real journal files through
/// journalctl, as activity does on a host.
pub fn to_journal(export: &std::path::Path, journal: &std::path::Path) -> std::io::Result<()> {
    let out = std::process::Command::new(JOURNAL_REMOTE)
        .arg(format!("--output={}", journal.display()))
        .arg(export)
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{JOURNAL_REMOTE} failed ({}): {} (is the Debian package systemd-journal-remote installed?)",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(bytes: &[u8]) -> Vec<(Option<String>, Option<String>, bool)> {
        let mut r = Reader::new(bytes);
        let mut out = Vec::new();
        while let Some(e) = r.next_entry().expect("read") {
            out.push((
                e.text(Field::Message).map(str::to_owned),
                e.text(Field::Identifier).map(str::to_owned),
                e.oversized,
            ));
        }
        out
    }

    #[test]
    fn reads_text_and_binary_fields_and_keeps_only_wanted_ones() {
        let mut buf = Vec::new();
        write_entry(
            &mut buf,
            &[
                ("__CURSOR", b"s=1"),
                ("MESSAGE", b"two\nlines"),
                ("SYSLOG_IDENTIFIER", b"sudo"),
            ],
        );
        write_entry(&mut buf, &[("MESSAGE", b"plain")]);
        assert_eq!(
            entries(&buf),
            [
                (Some("two\nlines".into()), Some("sudo".into()), false),
                (Some("plain".into()), None, false)
            ]
        );
    }

    #[test]
    fn a_huge_field_marks_the_entry_and_the_next_one_still_reads() {
        let huge = vec![b'a'; MAX_FIELD * 3];
        let mut huge_binary = huge.clone();
        huge_binary.push(b'\n');
        let mut buf = Vec::new();
        write_entry(&mut buf, &[("MESSAGE", &huge)]);
        write_entry(&mut buf, &[("MESSAGE", &huge_binary)]);
        write_entry(&mut buf, &[("MESSAGE", b"after")]);
        let got = entries(&buf);
        assert_eq!(got.len(), 3);
        assert!(got[0].2 && got[1].2 && !got[2].2);
        assert_eq!(got[2].0.as_deref(), Some("after"));
    }

    #[test]
    fn a_truncated_stream_is_an_error_not_a_hang() {
        let mut r = Reader::new(&b"MESSAGE\n\x10\0\0\0\0\0\0\0abc"[..]);
        assert!(r.next_entry().is_err());
    }
}
