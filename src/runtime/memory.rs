//! Memory given back after a burst: the first picture of a large cluster is parsed from lists
//! of many thousand objects, whose buffers are freed once it is in; glibc's allocator keeps
//! what was freed (its arenas) unless asked to return it, so the console's resident memory
//! stayed at its peak for the rest of the session. Asked once, a moment after each whole picture
//! of a large cluster.

use std::time::Duration;

/// A picture of this many pods is large: what building it freed is worth giving back.
pub const LARGE: usize = 5_000;

/// How long after a whole picture arrives: it has been taken in, and what built it let go.
const AFTER: Duration = Duration::from_secs(2);

/// Returns the memory freed since the last picture to the system, soon (off the UI task).
pub fn trim_soon() {
    tokio::spawn(async {
        tokio::time::sleep(AFTER).await;
        let _ = tokio::task::spawn_blocking(trim).await;
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks the allocator's own free lists; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
