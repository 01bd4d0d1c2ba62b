//! The real `gameday` binary in a pseudo-terminal: keys in, screen out (vt100). Each console
//! gets its own temporary HOME and GAMEDAY_* directories.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

pub const COLS: u16 = 160;
pub const ROWS: u16 = 45;

pub struct Console {
    child: Box<dyn Child + Send + Sync>,
    writer: Option<Box<dyn Write + Send>>,
    parser: Arc<Mutex<vt100::Parser>>,
    /// Every byte the program wrote to its terminal.
    raw: Arc<Mutex<Vec<u8>>>,
    master: Option<Box<dyn MasterPty + Send>>,
    /// Set when the terminal is closed: the reader lets go of its end.
    closed: Arc<std::sync::atomic::AtomicBool>,
    /// Set when the reader has read all the program wrote (its end of the terminal closed).
    drained: Arc<std::sync::atomic::AtomicBool>,
    pub dir: tempfile::TempDir,
}

impl Console {
    /// Starts `gameday <args>` in a fresh temporary home.
    pub fn start(args: &[&str]) -> Console {
        let dir = tempfile::tempdir().expect("temp dir");
        Console::start_in(dir, args, &[])
    }

    pub fn start_in(dir: tempfile::TempDir, args: &[&str], env: &[(&str, &str)]) -> Console {
        let pty = native_pty_system();
        let pair = pty.openpty(PtySize { rows: ROWS, cols: COLS, pixel_width: 0, pixel_height: 0 }).expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_gameday"));
        cmd.args(args);
        cmd.cwd(dir.path());
        cmd.env("HOME", dir.path());
        cmd.env("GAMEDAY_DATA_DIR", dir.path().join("data"));
        cmd.env("GAMEDAY_CONFIG_DIR", dir.path().join("config"));
        cmd.env("TERM", "xterm-256color");
        // Who signs the notes, the same on every machine (CI has no $USER; the console would
        // then sign with the account's name).
        cmd.env("USER", "tester");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn gameday");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, r) = (parser.clone(), raw.clone());
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = closed.clone();
        let drained = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = drained.clone();
        let fd = pair.master.as_raw_fd().expect("the pty's fd");
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            // Polled, so that closing the terminal can end this thread and close its end too.
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
                if unsafe { libc::poll(&mut pfd, 1, 50) } <= 0 {
                    continue;
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        p.lock().unwrap().process(&buf[..n]);
                        r.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                }
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        Console { child, writer: Some(writer), parser, raw, master: Some(pair.master), closed, drained, dir }
    }

    /// The console's home, kept for the next console (after this one exited).
    pub fn into_dir(mut self) -> tempfile::TempDir {
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"))
    }

    pub fn pid(&self) -> i32 {
        self.child.process_id().expect("pid") as i32
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The one session journal this console wrote.
    pub fn journal(&self) -> PathBuf {
        let dir = self.data_dir().join("sessions");
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        found.remove(0)
    }

    pub fn send(&mut self, text: &str) {
        let w = self.writer.as_mut().expect("the terminal is open");
        w.write_all(text.as_bytes()).expect("write to pty");
        w.flush().expect("flush pty");
    }

    /// Pastes `text` as a terminal with bracketed paste does (the program turned mode 2004 on).
    pub fn paste(&mut self, text: &str) {
        self.send(&format!("\x1b[200~{text}\x1b[201~"));
    }

    /// Every byte the program wrote to its terminal so far.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Closes the terminal, as closing a terminal window does (SIGHUP, then reads and writes
    /// fail).
    pub fn close_terminal(&mut self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(150));
        self.writer = None;
        self.master = None;
    }

    /// Types a `:` command and presses Enter, as a person would.
    pub fn command(&mut self, cmd: &str) {
        self.send(":");
        std::thread::sleep(Duration::from_millis(50));
        self.send(cmd);
        // Enter on its own, as a person presses it: in the same read as the text it would be
        // part of a burst, which the console takes as a paste (and a paste never presses Enter).
        std::thread::sleep(Duration::from_millis(50 + cmd.len() as u64 / 10));
        self.press("\r");
    }

    /// One key, pressed as a person does: on its own, with a pause before and after it. Keys
    /// written back to back reach the console in one read, a burst it takes for a paste.
    pub fn press(&mut self, key: &str) {
        std::thread::sleep(Duration::from_millis(60));
        self.send(key);
        std::thread::sleep(Duration::from_millis(60));
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn alternate_screen(&self) -> bool {
        self.parser.lock().unwrap().screen().alternate_screen()
    }

    /// Background colour of the cell at (row, col).
    pub fn bg(&self, row: u16, col: u16) -> vt100::Color {
        self.parser.lock().unwrap().screen().cell(row, col).map(|c| c.bgcolor()).unwrap_or_default()
    }

    /// Waits until the screen shows `text`; panics with the screen and the journal's tail if it
    /// does not in time. For what lasts (the screen's panels, the timeline); a status line that
    /// the next message replaces is waited for in the journal instead (`wait_for_entry`).
    pub fn wait_for(&self, text: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {text:?}; the screen:\n{screen}\n{}",
                    self.journal_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits until the journal has an entry `found` accepts (what lasts, unlike a status line);
    /// panics with the journal's tail and the screen if none comes in time.
    pub fn wait_for_entry(
        &self,
        what: &str,
        found: impl Fn(&serde_json::Value) -> bool,
        timeout: Duration,
    ) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self.journal_path().and_then(|p| entries_so_far(&p).into_iter().find(|e| found(e))) {
                return e;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what} in the journal\n{}\nthe screen:\n{}",
                    self.journal_tail(),
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits until the journal says the report was written to a file named `name`, and
    /// returns its path (recorded absolute, whatever was typed).
    /// `:export report.md`, waited for, and what it says.
    pub fn exported_report(&mut self) -> String {
        self.command("export report.md");
        let path = self.wait_exported("report.md", Duration::from_secs(30));
        std::fs::read_to_string(path).expect("the exported report")
    }

    pub fn wait_exported(&self, name: &str, timeout: Duration) -> PathBuf {
        let e = self.wait_for_entry(
            &format!("the report written to {name}"),
            |e| e["kind"] == "report_exported" && e["path"].as_str().is_some_and(|p| p.ends_with(&format!("/{name}"))),
            timeout,
        );
        let path = PathBuf::from(e["path"].as_str().unwrap_or_default());
        assert!(path.is_absolute(), "the timeline records an absolute path: {e}");
        path
    }

    /// Waits until the journal says fault `n`'s revert is confirmed (the status line saying so
    /// may already be replaced by the next message).
    pub fn wait_reverted(&self, n: u64, timeout: Duration) -> serde_json::Value {
        self.wait_for_entry(
            &format!("fault #{n}'s revert confirmed"),
            |e| e["kind"] == "revert_confirmed" && e["fault"] == n,
            timeout,
        )
    }

    /// Waits until this (facilitator's) console's journal has `responder`'s mark (`detected`,
    /// `mitigated`, `note`, `stop`): the status line saying so is replaced by the next message,
    /// and the timeline's line scrolls away when much happens at once.
    pub fn wait_mark(&self, responder: &str, mark: &str, timeout: Duration) -> serde_json::Value {
        self.wait_for_entry(
            &format!("{responder}'s {mark} mark"),
            |e| e["kind"] == "drill_mark" && e["responder"] == responder && e["mark"] == mark,
            timeout,
        )
    }

    /// Waits until the run-sheet asks for the outcome of the step just run: its panel's title
    /// says so for as long as it waits (the status line saying so is replaced by the next
    /// message; an `:outcome` typed before is refused).
    pub fn wait_outcome_asked(&self, timeout: Duration) -> String {
        self.wait_for(":outcome held|broken|partial (checks:", timeout)
    }

    /// The journal, if this console has written exactly one.
    fn journal_path(&self) -> Option<PathBuf> {
        let dir = self.data_dir().join("sessions");
        let found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        (found.len() == 1).then(|| found[0].clone())
    }

    /// The journal's last entries, described, for a failure message.
    fn journal_tail(&self) -> String {
        let Some(path) = self.journal_path() else { return "(no journal yet)".into() };
        let entries = entries_so_far(&path);
        let tail: Vec<String> = entries.iter().rev().take(15).rev().map(|e| e.to_string()).collect();
        format!("the journal's last {} entries ({}):\n{}", tail.len(), path.display(), tail.join("\n"))
    }

    /// Waits until the screen no longer shows `text`.
    pub fn wait_gone(&self, text: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if !screen.contains(text) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out after {timeout:?} waiting for {text:?} to go; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// `q`, the question it asks first (`question`: what the overlay says, up to "and quit?
    /// y/N"), `y`; the console exits cleanly.
    pub fn quit_answering(&mut self, question: &str) {
        self.send("q");
        self.wait_for(question, Duration::from_secs(20));
        self.send("y");
        assert_eq!(self.wait_exit(Duration::from_secs(20)), 0, "a clean exit after y");
    }

    /// Waits for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> u32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // What it wrote last (leaving the alternate screen) is read before anyone
                // looks at the screen: the reader stops at the end of it.
                let until = Instant::now() + Duration::from_secs(5);
                while !self.drained.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(10));
                }
                return status.exit_code();
            }
            if Instant::now() > deadline {
                // What it shows while it does not exit, before the kill (a hangup ends the
                // session and prints its closing lines over it).
                let (screen, tail) = (self.screen(), self.journal_tail());
                let _ = self.child.kill();
                panic!("gameday did not exit within {timeout:?}\n{tail}\nthe screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{sig} failed");
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}

/// The kinds of the journal's entries, in order (`"inject_requested"`, ...).
pub fn journal_kinds(path: &Path) -> Vec<String> {
    journal_entries(path).iter().map(|v| v["kind"].as_str().unwrap_or("?").to_string()).collect()
}

/// The journal's complete lines so far (one being written is left for later).
fn entries_so_far(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

pub fn journal_entries(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}
