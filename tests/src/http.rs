//! [`HttpServer`]: a static file server on loopback, so a chroot's apt
//! fetches a repository over real HTTP (its `http` method, redirects of
//! `by-hash`, `401` handling) rather than through `file:`. Optional HTTP
//! basic auth stands in for a private repository.
//!
//! A test chroot shares the host's network namespace, so apt inside it
//! reaches `127.0.0.1:<port>`. One thread per connection; each response
//! closes its connection, which apt handles like any HTTP/1.1 server's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A running server; stops when dropped.
#[derive(Debug)]
pub struct HttpServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl HttpServer {
    /// Serves `root` on an ephemeral loopback port; with `credentials`
    /// (`user:password`) every request needs that basic auth.
    pub fn start(root: &Path, credentials: Option<&str>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let expected = credentials.map(|c| format!("Basic {}", base64(c.as_bytes())));
        let (root, flag) = (root.to_path_buf(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let (root, expected) = (root.clone(), expected.clone());
                    std::thread::spawn(move || serve(stream, &root, expected.as_deref()));
                }
            }
        });
        HttpServer { port, stop }
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `host:port` apt's auth.conf names.
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut stream: TcpStream, root: &Path, expected_auth: Option<&str>) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_owned());
            }
        }
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let response = |status: &str, body: &[u8], extra: &str| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
            body.len()
        );
        (head, body.to_vec())
    };
    let refused = expected_auth.is_some_and(|want| authorization.as_deref() != Some(want));
    let (head, body) = if refused {
        response(
            "401 Unauthorized",
            b"authentication required\n",
            "WWW-Authenticate: Basic realm=\"vpsc\"\r\n",
        )
    } else if method != "GET" && method != "HEAD" {
        response("405 Method Not Allowed", b"", "")
    } else {
        match resolve(root, target).and_then(|p| std::fs::read(p).ok()) {
            Some(data) => response(
                "200 OK",
                &data,
                "Content-Type: application/octet-stream\r\n",
            ),
            None => response("404 Not Found", b"not found\n", ""),
        }
    };
    let _ = stream.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = stream.write_all(&body);
    }
    let _ = stream.flush();
    // Drain what the client still sends so closing does not reset.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut sink = [0u8; 512];
    let _ = reader.get_mut().read(&mut sink);
}

/// The file under `root` a request path names; `None` for anything that
/// would leave `root` or is not a regular file.
fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?;
    let mut out = root.to_path_buf();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if part == ".." || part == "." || part.contains('%') {
            return None;
        }
        out.push(part);
    }
    out.is_file().then_some(out)
}

/// RFC 4648 base64 with padding.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn serves_files_and_demands_credentials() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("hello"), "hi\n").expect("write");
        let get = |server: &HttpServer, path: &str, auth: Option<&str>| {
            let mut s = TcpStream::connect(server.authority()).expect("connect");
            let auth = auth
                .map(|a| format!("Authorization: Basic {}\r\n", base64(a.as_bytes())))
                .unwrap_or_default();
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\n").expect("send");
            let mut text = String::new();
            s.read_to_string(&mut text).expect("read");
            text
        };
        let open = HttpServer::start(dir.path(), None);
        assert!(get(&open, "/hello", None).starts_with("HTTP/1.1 200 OK"));
        assert!(get(&open, "/hello", None).ends_with("\r\n\r\nhi\n"));
        assert!(get(&open, "/../etc/passwd", None).starts_with("HTTP/1.1 404"));
        let private = HttpServer::start(dir.path(), Some("vpsc:s3cret"));
        assert!(get(&private, "/hello", None).starts_with("HTTP/1.1 401"));
        assert!(get(&private, "/hello", Some("vpsc:wrong")).starts_with("HTTP/1.1 401"));
        assert!(get(&private, "/hello", Some("vpsc:s3cret")).starts_with("HTTP/1.1 200"));
    }
}
