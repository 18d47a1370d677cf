//! Confined file access: every path the runtime opens is resolved by the
//! kernel, through openat2(2), so that it cannot leave the target root, and
//! below a directory a user controls no symbolic link is followed at all.
//!
//! Two kinds of resolution keep the two promises of SECURITY.md:
//! - **in the root** (`RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`): a system
//!   path such as `/etc/ssh/sshd_config.d` is resolved as if the root were
//!   `/`, so an absolute link inside a `--root` tree points inside it, and
//!   `..` never climbs out;
//! - **below a user's directory** (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`):
//!   in a home, a team folder or anything else a person can change, a link
//!   is refused wherever it is, and the refusal names it.
//!
//! Writes go through [`Dir`], an open directory: a new file gets a random
//! name created with `O_CREAT | O_EXCL | O_NOFOLLOW` and is renamed over the
//! target, so a link planted at any name is replaced, never written through;
//! owner and mode are set on the descriptor of the file root just created,
//! never on a name, so a hard link to a root-owned file is never chowned.

mod dir;
mod open;
mod rooted;
mod scan;
mod walk;

pub use dir::{Dir, Guard, READ_LIMIT, random_u64};
pub use open::kind as file_kind;
pub use scan::{Found, scan};
pub use walk::{ArchiveReport, archive_dir};
