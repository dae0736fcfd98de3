//! `pagecache_read FILE`: what reading `FILE` from the page cache costs on its own, by where the
//! buffer starts relative to a page and by the size of each `read` (the probe behind "smtp-bulk
//! --dir again" in `docs/PERFORMANCE.md`, reproduced by `scripts/dir-profile.sh`).
//!
//! For each buffer offset (0, 16, 64, 2,048 and 4,080 bytes past a page boundary) and read size
//! (64 KiB, 256 KiB, 1 MiB), the file is opened and read to its end 400 times; the best and the
//! mean time per MiB read are printed. Run it on a file already in the page cache (read it once
//! before) and on a quiet machine: it measures one process alone, not the copies of a run.

use std::fs::File;
use std::io::Read;
use std::time::{Duration, Instant};

const PAGE: usize = 4096;
const OFFSETS: [usize; 5] = [0, 16, 64, 2048, 4080];
const SIZES: [usize; 3] = [64 * 1024, 256 * 1024, 1024 * 1024];
const ROUNDS: u32 = 400;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: pagecache_read FILE");
        std::process::exit(2);
    };
    if let Err(e) = run(&path) {
        eprintln!("pagecache_read: {path}: {e}");
        std::process::exit(1);
    }
}

fn run(path: &str) -> std::io::Result<()> {
    let mut backing = vec![1u8; SIZES[SIZES.len() - 1] + 2 * PAGE];
    // The first page boundary inside the allocation: the offsets are counted from it.
    let boundary = (PAGE - backing.as_ptr() as usize % PAGE) % PAGE;
    println!("offset_bytes\tread_bytes\tbest_us_per_mib\tmean_us_per_mib");
    for size in SIZES {
        for offset in OFFSETS {
            let start = boundary + offset;
            let buf = &mut backing[start..start + size];
            let mut best = Duration::MAX;
            let mut total = Duration::ZERO;
            let mut bytes = 0u64;
            for _ in 0..ROUNDS {
                let mut file = File::open(path)?;
                let began = Instant::now();
                let mut n = 0u64;
                loop {
                    match file.read(buf)? {
                        0 => break,
                        k => n += k as u64,
                    }
                }
                let took = began.elapsed();
                best = best.min(took);
                total += took;
                bytes = n;
            }
            let mib = (bytes as f64 / (1024.0 * 1024.0)).max(f64::MIN_POSITIVE);
            println!(
                "{offset}\t{size}\t{:.1}\t{:.1}",
                best.as_secs_f64() * 1e6 / mib,
                total.as_secs_f64() * 1e6 / f64::from(ROUNDS) / mib
            );
        }
    }
    Ok(())
}
