//! The forwarding queue on disk: OTLP requests appended to segment files, read back in order
//! from a cursor kept in a file, bounded in bytes.
//!
//! A record is a 4-byte big-endian length and that many bytes. Segments are named by a number
//! that only grows (`00000000000000000001.seg`); the writer appends to the newest and starts
//! another past [`SEGMENT_BYTES`]. The cursor (`cursor`: segment and offset) moves past a record
//! only once it was delivered, and is replaced atomically (written beside, then renamed), so a
//! restart delivers again at most the record in flight. Past `max_bytes` the oldest segments
//! are dropped, counted and logged: forwarding must never fill the disk Lemma stores on.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A segment is closed once it holds this much.
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Where the next record to deliver starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub segment: u64,
    pub offset: u64,
}

pub struct DiskQueue {
    dir: PathBuf,
    max_bytes: u64,
    segment_bytes: u64,
    /// The segment being appended to, and its size.
    head: (u64, File, u64),
    cursor: Position,
    /// Bytes waiting to be delivered: counted on disk once when opened, then kept up to date
    /// here, so an append (on the commit path) reads no directory.
    pending: u64,
    /// Records dropped because the queue was full, since start.
    pub dropped_bytes: u64,
}

impl DiskQueue {
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<DiskQueue> {
        DiskQueue::open_with(dir, max_bytes.max(SEGMENT_BYTES), SEGMENT_BYTES)
    }

    fn open_with(dir: &Path, max_bytes: u64, segment_bytes: u64) -> io::Result<DiskQueue> {
        fs::create_dir_all(dir)?;
        let segments = segments(dir)?;
        let newest = segments.last().copied().unwrap_or(1);
        // A crash part way through an append leaves half a record at the end: cut it off, or
        // the next append would follow it and be read as its rest.
        let path = segment_path(dir, newest);
        let whole = whole_length(&path)?;
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        if file.metadata()?.len() > whole {
            file.set_len(whole)?;
        }
        let size = whole;
        let oldest = segments.first().copied().unwrap_or(newest);
        let cursor = read_cursor(dir)?
            .filter(|c| c.segment >= oldest)
            .unwrap_or(Position {
                segment: oldest,
                offset: 0,
            });
        Ok(DiskQueue {
            dir: dir.to_path_buf(),
            max_bytes,
            segment_bytes,
            head: (newest, file, size),
            cursor,
            pending: pending_on_disk(dir, cursor)?,
            dropped_bytes: 0,
        })
    }

    /// Appends a record. Not synced: the data is in the OS's hands, which a crash of Lemma
    /// does not lose (`sync` makes it survive a power loss too).
    pub fn append(&mut self, record: &[u8]) -> io::Result<()> {
        if self.head.2 >= self.segment_bytes {
            let next = self.head.0 + 1;
            self.head.1.sync_data()?;
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(segment_path(&self.dir, next))?;
            self.head = (next, file, 0);
        }
        let len = u32::try_from(record.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "record over 4 GiB"))?;
        let mut frame = Vec::with_capacity(record.len() + 4);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(record);
        self.head.1.write_all(&frame)?;
        self.head.2 += frame.len() as u64;
        self.pending += frame.len() as u64;
        self.bound()
    }

    pub fn sync(&self) -> io::Result<()> {
        self.head.1.sync_data()
    }

    /// The next record to deliver, and where the one after it starts; `None` when every record
    /// was delivered. A segment read to its end that is no longer the head is finished.
    pub fn peek(&mut self) -> io::Result<Option<(Vec<u8>, Position)>> {
        loop {
            let path = segment_path(&self.dir, self.cursor.segment);
            let record = match File::open(&path) {
                Ok(file) => read_at(file, self.cursor.offset)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            if let Some(record) = record {
                let next = Position {
                    segment: self.cursor.segment,
                    offset: self.cursor.offset + 4 + record.len() as u64,
                };
                return Ok(Some((record, next)));
            }
            if self.cursor.segment >= self.head.0 {
                return Ok(None);
            }
            // Delivered whole: on to the next segment.
            let _ = fs::remove_file(&path);
            self.cursor = Position {
                segment: self.cursor.segment + 1,
                offset: 0,
            };
            write_cursor(&self.dir, self.cursor)?;
        }
    }

    /// Marks everything before `next` (a position `peek` gave, in the cursor's segment)
    /// delivered.
    pub fn ack(&mut self, next: Position) -> io::Result<()> {
        self.pending = self
            .pending
            .saturating_sub(next.offset.saturating_sub(self.cursor.offset));
        self.cursor = next;
        write_cursor(&self.dir, next)
    }

    /// Drops the oldest segments while the queue holds more than `max_bytes`.
    fn bound(&mut self) -> io::Result<()> {
        while self.pending > self.max_bytes && self.cursor.segment < self.head.0 {
            let path = segment_path(&self.dir, self.cursor.segment);
            let size = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let dropped = size.saturating_sub(self.cursor.offset);
            self.dropped_bytes += dropped;
            self.pending = self.pending.saturating_sub(dropped);
            tracing::warn!(
                bytes = dropped,
                "the forwarding queue is full: its oldest spans were dropped unsent"
            );
            let _ = fs::remove_file(&path);
            self.cursor = Position {
                segment: self.cursor.segment + 1,
                offset: 0,
            };
            write_cursor(&self.dir, self.cursor)?;
        }
        Ok(())
    }
}

/// Bytes of the segments from the cursor's on, past the cursor.
fn pending_on_disk(dir: &Path, cursor: Position) -> io::Result<u64> {
    let mut total = 0;
    for s in segments(dir)?.into_iter().filter(|&s| s >= cursor.segment) {
        total += fs::metadata(segment_path(dir, s))?.len();
    }
    Ok(total.saturating_sub(cursor.offset))
}

/// The length of the whole records at the start of a segment (0 when it does not exist).
fn whole_length(path: &Path) -> io::Result<u64> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let size = file.metadata()?.len();
    let mut reader = BufReader::new(file);
    let mut at = 0u64;
    let mut len = [0u8; 4];
    while at + 4 <= size {
        reader.read_exact(&mut len)?;
        let end = at + 4 + u32::from_be_bytes(len) as u64;
        if end > size {
            break;
        }
        reader.seek_relative(end as i64 - at as i64 - 4)?;
        at = end;
    }
    Ok(at)
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:020}.seg"))
}

fn segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut out: Vec<u64> = fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".seg")?.parse().ok()
        })
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// The record at `offset`, or `None` at the end (or at a record not yet wholly written).
fn read_at(mut file: File, offset: u64) -> io::Result<Option<Vec<u8>>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = BufReader::new(file);
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut record = vec![0u8; u32::from_be_bytes(len) as usize];
    match reader.read_exact(&mut record) {
        Ok(()) => Ok(Some(record)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

fn read_cursor(dir: &Path) -> io::Result<Option<Position>> {
    let text = match fs::read_to_string(dir.join("cursor")) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut parts = text.split_whitespace().map(str::parse::<u64>);
    Ok(match (parts.next(), parts.next()) {
        (Some(Ok(segment)), Some(Ok(offset))) => Some(Position { segment, offset }),
        _ => None,
    })
}

fn write_cursor(dir: &Path, p: Position) -> io::Result<()> {
    let staged = dir.join("cursor.next");
    fs::write(&staged, format!("{} {}\n", p.segment, p.offset))?;
    fs::rename(staged, dir.join("cursor"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut DiskQueue) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some((record, next)) = q.peek().unwrap() {
            out.push(record);
            q.ack(next).unwrap();
        }
        out
    }

    #[test]
    fn records_come_back_in_order_once_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = DiskQueue::open(dir.path(), 1 << 30).unwrap();
        for i in 0..5u8 {
            q.append(&vec![i; i as usize * 10]).unwrap();
        }
        let (first, next) = q.peek().unwrap().unwrap();
        assert_eq!(first, Vec::<u8>::new());
        q.ack(next).unwrap();
        // Reopened (a restart): the delivered record is not delivered again.
        drop(q);
        let mut q = DiskQueue::open(dir.path(), 1 << 30).unwrap();
        let rest = drain(&mut q);
        assert_eq!(
            rest,
            (1..5u8)
                .map(|i| vec![i; i as usize * 10])
                .collect::<Vec<_>>()
        );
        assert_eq!(q.pending, 0);
        q.append(b"later").unwrap();
        assert_eq!(drain(&mut q), [b"later".to_vec()]);
    }

    #[test]
    fn an_unacknowledged_record_is_delivered_again_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = DiskQueue::open(dir.path(), 1 << 30).unwrap();
        q.append(b"one").unwrap();
        assert!(q.peek().unwrap().is_some());
        drop(q);
        let mut q = DiskQueue::open(dir.path(), 1 << 30).unwrap();
        assert_eq!(drain(&mut q), [b"one".to_vec()]);
    }

    #[test]
    fn half_a_record_left_by_a_crash_is_cut_off_on_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = DiskQueue::open(dir.path(), 1 << 30).unwrap();
        q.append(b"whole").unwrap();
        // Half a record, as a crash mid-append would leave it: not read while it is half.
        let mut f = OpenOptions::new()
            .append(true)
            .open(segment_path(dir.path(), 1))
            .unwrap();
        f.write_all(&10u32.to_be_bytes()).unwrap();
        f.write_all(b"half").unwrap();
        assert_eq!(drain(&mut q), [b"whole".to_vec()]);
        drop(q);
        let mut q = DiskQueue::open(dir.path(), 1 << 30).unwrap();
        q.append(b"after").unwrap();
        assert_eq!(drain(&mut q), [b"after".to_vec()]);
    }

    #[test]
    fn segments_rotate_and_a_full_queue_drops_its_oldest() {
        let dir = tempfile::tempdir().unwrap();
        // Segments of about 3 records; at most about 2 segments kept.
        let mut q = DiskQueue::open_with(dir.path(), 250, 100).unwrap();
        for i in 0..20u8 {
            q.append(&[i; 30]).unwrap();
        }
        assert!(segments(dir.path()).unwrap().len() > 1, "rotated");
        assert!(q.dropped_bytes > 0);
        let left = drain(&mut q);
        assert!(!left.is_empty() && left.len() < 20, "{} kept", left.len());
        // What is kept is the newest, in order.
        let firsts: Vec<u8> = left.iter().map(|r| r[0]).collect();
        assert_eq!(*firsts.last().unwrap(), 19);
        assert!(firsts.windows(2).all(|w| w[1] == w[0] + 1));
        assert_eq!(
            segments(dir.path()).unwrap().len(),
            1,
            "delivered segments are removed"
        );
    }
}
