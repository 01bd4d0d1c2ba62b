//! Reading a file that may not be what its name says: a FIFO or a device named `*.jsonl` or
//! `config.toml` (a read would wait forever or never end), or something far larger than gameday
//! ever writes. Nothing is read from what is not a regular file, and never more than a limit.

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Opens `path` for reading if it is a regular file (following a symlink), without waiting on a
/// FIFO's writer (the open does not block), and says what it is otherwise.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        use std::os::unix::fs::FileTypeExt as _;
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}, not a regular file")));
    }
    Ok(file)
}

/// The whole of a regular file, if it is at most `limit` bytes; else why not.
pub fn read_regular(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB, more than gameday ever writes there", limit / (1024 * 1024)),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_read_and_never_more_than_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("s.jsonl");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(read_regular(&fifo, 1024).unwrap_err().to_string().contains("a FIFO"));
        assert!(read_regular(dir.path(), 1024).unwrap_err().to_string().contains("a directory"));
        let zero = dir.path().join("zero.jsonl");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(read_regular(&zero, 1024).unwrap_err().to_string().contains("a device"));
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 2 * 1024 * 1024 + 1]).unwrap();
        assert!(read_regular(&big, 2 * 1024 * 1024).unwrap_err().to_string().contains("larger than 2 MiB"));
        assert_eq!(read_regular(&big, 4 * 1024 * 1024).unwrap().len(), 2 * 1024 * 1024 + 1);
    }
}
