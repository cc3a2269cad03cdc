//! Recording raw frames in the collector format replay reads (`<local_ns> <json>` per line,
//! gzip when the file name ends in `.gz`), written by a cold thread.
//!
//! The core thread copies each line into an `rtrb` byte ring (no allocation, no syscall);
//! the writer thread drains it into the file. A line that does not fit is dropped whole and
//! counted — the core thread never waits for the disk.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Byte ring between the core thread and the writer, bytes.
const RING_BYTES: usize = 64 << 20;

/// The core thread's end of the recorder.
#[derive(Debug)]
pub struct Recorder {
    ring: rtrb::Producer<u8>,
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<std::io::Result<u64>>>,
    /// Lines written into the ring.
    pub lines: u64,
    /// Lines dropped because the ring was full.
    pub dropped: u64,
    path: PathBuf,
}

impl Recorder {
    /// Creates `path` (truncating) and starts the writer thread.
    pub fn create(path: &Path) -> std::io::Result<Recorder> {
        let file = File::create(path)?;
        let gz = path.extension().is_some_and(|e| e == "gz");
        let out: Box<dyn Write + Send> = if gz {
            Box::new(GzEncoder::new(BufWriter::new(file), Compression::fast()))
        } else {
            Box::new(BufWriter::new(file))
        };
        let (tx, rx) = rtrb::RingBuffer::new(RING_BYTES);
        let done = Arc::new(AtomicBool::new(false));
        let thread_done = Arc::clone(&done);
        let thread = std::thread::Builder::new()
            .name("obi-recorder".into())
            .spawn(move || drain(rx, out, &thread_done))?;
        Ok(Recorder {
            ring: tx,
            done,
            thread: Some(thread),
            lines: 0,
            dropped: 0,
            path: path.to_path_buf(),
        })
    }

    /// Queues one line: `local_ns`, a space, the frame, a newline. Frames are JSON text and
    /// never contain a raw newline.
    #[inline]
    pub fn record(&mut self, local_ns: u64, frame: &[u8]) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut v = local_ns;
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let number = &digits[i..];
        let len = number.len() + 1 + frame.len() + 1;
        let Ok(chunk) = self.ring.write_chunk_uninit(len) else {
            self.dropped += 1;
            return;
        };
        let parts: [&[u8]; 4] = [number, b" ", frame, b"\n"];
        chunk.fill_from_iter(parts.into_iter().flatten().copied());
        self.lines += 1;
    }

    /// Flushes and closes the file; returns bytes written.
    pub fn finish(mut self) -> std::io::Result<u64> {
        self.done.store(true, Ordering::Release);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err(std::io::Error::other(format!(
                "the recorder thread for {} failed",
                self.path.display()
            ))),
        }
    }
}

fn drain(
    mut rx: rtrb::Consumer<u8>,
    mut out: Box<dyn Write + Send>,
    done: &AtomicBool,
) -> std::io::Result<u64> {
    let mut written = 0u64;
    loop {
        let finishing = done.load(Ordering::Acquire);
        let n = rx.slots();
        if n > 0 {
            let chunk = rx
                .read_chunk(n)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            let (a, b) = chunk.as_slices();
            out.write_all(a)?;
            out.write_all(b)?;
            written += n as u64;
            chunk.commit_all();
        } else if finishing {
            out.flush()?;
            drop(out);
            return Ok(written);
        } else {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
