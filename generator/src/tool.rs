//! Running the Debian tools the generator relies on (dpkg-deb, xz, gpg):
//! argv only, never a shell, and a failure reported with what was run.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// Runs `cmd` with `input` on its stdin; returns its stdout, or an error
/// naming `shown` with its stderr. `package` says what to install when the
/// tool is missing.
pub fn run(mut cmd: Command, input: Option<&[u8]>, shown: &str, package: &str) -> Result<Vec<u8>> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| Error::Tool {
        command: shown.to_owned(),
        message: format!("{e} (install {package})"),
    })?;
    // Written from a thread: the child's stdout pipe would fill up while
    // we were still writing its stdin.
    let writer = input.map(|data| {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let data = data.to_vec();
        std::thread::spawn(move || stdin.write_all(&data))
    });
    let out = child.wait_with_output().map_err(|e| Error::Tool {
        command: shown.to_owned(),
        message: e.to_string(),
    })?;
    if let Some(w) = writer {
        w.join()
            .expect("stdin writer thread")
            .map_err(|e| Error::Tool {
                command: shown.to_owned(),
                message: format!("writing its input: {e}"),
            })?;
    }
    if !out.status.success() {
        return Err(Error::Tool {
            command: shown.to_owned(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(out.stdout)
}
