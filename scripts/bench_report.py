#!/usr/bin/env python3
"""Turns the results of one `scripts/bench.sh` run into docs/PERFORMANCE.md and an SVG chart.

Standard library only. Inputs (all in --results DIR, written by bench.sh):
  machine.json   what the machine is (nproc, CPU, kernel, rustc, load average, date)
  criterion/     criterion's estimates for the reply_parse and body_encode groups
  allocs.json    allocations per reply (the reply_allocs binary)
  e2e.json       the end-to-end runs (`e2e drive`)
  memory.json    the streaming memory runs (`e2e memory`)
  tls.json       the STARTTLS + AUTH runs against aiosmtpd (`e2e tls`)
  many.json      K sessions on one mailwire-mio thread through smtp-bulk (`e2e many`)
  cpu.json       CPU per 1 MiB message, the reference and ours interleaved (`e2e cpu`)
  cpu-cubic.json the same under the cubic congestion control, when bench.sh could set it
  cpu-fast.json  the same against the bench's own fast sink, the server's CPU beside the client's
Every sentence with a number is computed here from those files, so the text stays true on rerun.
"""
import argparse
import html
import json
import math
import os

PARSERS = [("ours", "mailwire (ours)"), ("stalwart", "Stalwart smtp-proto 0.2"),
           ("lettre", "lettre 0.11"), ("memchr", "memchr line scan (floor)")]
SHAPES = [("single", "`250 2.1.0 Ok` (14 B)"), ("ehlo10", "10-line EHLO"),
          ("lines100", "100-line reply (3,600 B)")]
BODY = [("copy", "memcpy (`extend_from_slice`, floor)"),
        ("encode", "`DataEncoder::encode`, whole body"),
        ("encode_after_3", "`DataEncoder::encode`, whole body, after 3 bytes already in the buffer"),
        ("encode_64k", "`DataEncoder::encode`, 64 KiB chunks"),
        ("encode_into_64k", "`DataEncoder::encode_into`, fixed 64 KiB buffer"),
        ("session_64k", "the session: `write_body` in 64 KiB blocks, `poll_transmit` into a reused buffer"),
        ("scan_portable", "the scan alone (`mailwire_simd`), portable build (SSE2)"),
        ("scan_avx2", "the scan alone, AVX2 (what the scans run when the CPU has it)"),
        ("scan_avx512bw", "the scan alone, AVX-512BW (not chosen for the scans: never faster here)"),
        ("scan_copy_portable", "the scan copying as it goes (`copy_clean_prefix`), portable"),
        ("scan_copy_avx2", "the scan copying as it goes, AVX2"),
        ("scan_copy_avx512bw", "the scan copying as it goes, AVX-512BW"),
        ("measure", "`ContentMeter::update`: the RFC 1870 size and the 8-bit test, as measured before MAIL"),
        ("tally_portable", "the meter's pass alone (`Scanner::tally`), portable"),
        ("tally_avx2", "the meter's pass alone, AVX2"),
        ("tally_avx512bw", "the meter's pass alone, AVX-512BW (what the tally runs when the CPU has it)")]
CLIENTS = {
    "ours-blocking": "mailwire-blocking (ours), `send_bytes` one by one",
    "ours-blocking-batch": "mailwire-blocking (ours), `send_many` × 100",
    "ours-mio": "mailwire-mio (ours), `bulk::run`",
    "lettre": "lettre 0.11 as shipped",
    "lettre-nodelay": "lettre 0.11 + TCP_NODELAY set from outside",
    "smtplib": "Python smtplib",
    "smtp-source": "Postfix smtp-source",
    "reference": "reference pipelined client (the floor, not a peer)",
    "reference-dir": "reference client reading each pre-encoded body from its own file (the floor of `--dir`)",
    "reference-dir-encode": "`reference-dir` reading the raw files 64 KiB at a time through our `DataEncoder` (no session)",
    "smtp-bulk-dir": "smtp-bulk (ours, mio) `--dir`, each file read as it is sent",
    "smtp-bulk-gen": "smtp-bulk (ours, mio) `--messages --size`, generated",
    "ours-tokio": "mailwire-tokio (ours)",
    "lettre-async": "lettre 0.11 `AsyncSmtpTransport` (tokio) as shipped",
    "lettre-async-nodelay": "lettre 0.11 async + TCP_NODELAY set from outside",
    "mail-send": "mail-send 0.5 as shipped",
    "mail-send-nodelay": "mail-send 0.5 + TCP_NODELAY on its stream",
    "ours-blocking-full": "mailwire-blocking (ours), no TLS resumption",
    "ours-mio-full": "mailwire-mio (ours), no TLS resumption",
    "swaks": "swaks (one process per message)",
}
PEERS_NOT = ("ours", "reference", "smtp-bulk")
STREAMED = {
    "ours-blocking": "mailwire-blocking (ours), `send` of a `File`",
    "ours-mio": "mailwire-mio (ours), `Content::file`",
    "ours-tokio": "mailwire-tokio (ours), `send` of a `tokio::fs::File`",
}
COLOURS = {
    "ours-blocking": "#1b7837", "ours-blocking-batch": "#5aae61", "ours-mio": "#a6dba0",
    "lettre": "#b2182b", "lettre-nodelay": "#ef8a62", "smtplib": "#2166ac",
    "smtp-source": "#67a9cf", "ours-tokio": "#00441b", "lettre-async": "#d6604d",
    "mail-send": "#8073ac", "reference": "#bbbbbb",
    "ours": "#1b7837", "stalwart": "#762a83", "memchr": "#999999",
}


CPU_NOTES = """## Where the CPU goes (1 MiB messages)

Measured apart from the run above, on 2026-12-01, with `perf record -g target/release/e2e client
KIND --port P --messages 400 --message-file M` (M: 1 MiB of 72-octet CRLF lines, every 20th
starting with a dot, as in the run) against smtp-sink, CPU per message as the median of 5 to 9
runs of each client taken in turn (`perf stat -e user_time,system_time`), and, where a figure is
the time of one step, with a timer around that step in a build made to measure only. Those
builds and the one-process A/B harness are not in the repository (a `std::time::Instant` around
`Client::write_body` in `ContentFeed::pump`, `rdtsc` around the scan's call, a 100-line client
that alternates copy loops per message against smtp-sink): the figures they gave are here to be
re-measured, not re-run.

- **The congestion control decides much of what a client is charged** (measured 2026-12-02).
  This VM's image sets `net.ipv4.tcp_congestion_control = bbr`; Linux's default is cubic.
  BBR paces a connection's segments from a per-socket timer, and the transmit work the timer
  does (the segment through loopback into smtp-sink's socket) is charged to whatever process is
  on the CPU when it fires. Client on CPU 0 and smtp-sink on CPU 1 (`taskset`), `perf stat -e
  task-clock` over 200 messages, 5 rounds taken in turn with the setting switched between
  them, medians in µs per message: under BBR the reference 420, `bulk::run` 672, `send_many`
  644, `smtp-bulk` generated 502; under cubic 308, 362, 350, 372 (1.14–1.21×). Under BBR a
  client's runs fall into two groups, and the timers say why: `ours-blocking`, 6 runs with
  `-e timer:hrtimer_expire_entry,net:net_dev_xmit` added, fired 20, 277, 1,073, 1,167, 1,461
  and 1,243 timers in its own context and cost 353, 392, 494, 566, 583 and 651 µs; the
  reference fired 408–466 and cost 341–437. The rate BBR settles on as the connection starts
  decides whether pacing holds the client back at all (`ss -ti` showed 26 and 209 Gbit/s for
  the same client in two runs). The pacing itself is the same whoever sends: under BBR,
  4 runs each, the whole machine fired 1,880–1,960 hrtimers in a run of the reference and
  1,360–2,040 in one of `send_bytes` or `send_many` (`perf stat -a`); the reference was on the
  CPU for 400–510 of them, ours for 1,020–1,620. Who transmits differs too: of the 4,700–4,960
  packets on loopback in a run (`perf stat -a`), the reference sent about 1,290 from its own context under
  BBR and 2,410 under cubic, `send_many` 2,860 and 4,000; the rest went out from smtp-sink's
  context (its reads open the window; 1,300–1,970 for the reference's runs, 730–1,380 for
  `send_many`'s, BBR, `perf stat -p`, its own ACKs and replies included) and from timers that
  fired while neither ran. The reference gets that by handing the kernel each
  message in one `write` and sleeping in `read`; ours hand it 256 KiB at a time and encode the
  next 256 KiB meanwhile. Doing as the reference does, with a 2 MiB body buffer (one `write`
  per message, `ours-blocking`, BBR; this and the next were set in a build made to measure
  only, through an environment variable), cut the timers to ~512 and the packets to ~1,600 but cost
  525–637 µs: encoding into 2 MiB runs out of the cache, as the body-buffer sizes below found.
  Making ours sleep while the kernel sends instead (`TCP_NOTSENT_LOWAT` set on the socket, so
  that a `write` waits while more than that is unsent; 5 runs each, pinned, medians): under
  BBR `send_bytes` 562 µs at 64 KiB and 567 at 256 KiB against 484 without, `send_many` 519 and
  642 against 420; under cubic 324 and 349 against 300, 294 and 286 against 289. Not in the
  code.
  So `scripts/bench.sh` runs the comparison under both, and the spread of earlier runs (one
  client 1.21× in one run and 1.36× in the next) is mostly this.
- **Why the kernel's work is charged to a client at all, and what is the same** (2026-12-02,
  later). This kernel is built without `CONFIG_IRQ_TIME_ACCOUNTING` (`/proc/config.gz`), so
  softirq time (a pacing timer's transmit, and the receiver's TCP work that loopback runs in
  the sender's context) is charged to whichever task it interrupts. Per run of 200 messages
  under cubic: smtp-sink was woken 212 times by the reference, 207–213 by `bulk::run` (once a
  message) and 409–413 by `send_bytes` one by one, which waits for each reply (`perf stat -e
  sched:sched_waking`, 2 runs each); the reference made 202 `sendto` and 203 `recvfrom` calls,
  `bulk::run` 803 `sendto`, 803 `epoll_wait` (its driver polls, without waiting, between two
  256 KiB body buffers) and 204 `recvfrom` (`strace -c`). In `perf record -g` (3 runs each,
  samples summed: the reference 1,638, `bulk::run` 2,206, `send_bytes` 2,110) the reference's
  `memmove` of its flight took 279 samples and our fused scan and copy 301 and 333 (and 18–30
  in the byte-by-byte end, 28–37 in `memmove`): encoding costs about what the reference's copy
  does. The next largest difference is the receiver's work done in the client's `sendto`
  (`sock_def_readable` under `tcp_data_queue`: 123 samples against 39 in one run each): ours put
  each 256 KiB on the wire themselves, while part of the reference's 1 MiB `write` goes out
  from smtp-sink's context when its ACKs open the window (the packet counts above).
- **The stores of the encoder's copy, aligned** (2026-12-02, an AMD EPYC with AVX2 and no
  AVX-512, 1 MiB of L2 a core). Timing the fused scan and copy alone on 1 MiB of clean CRLF
  text in cache (a harness made to measure only), with the output `Vec` already holding N
  bytes: 40–42 µs for N = 0, 4, 8, 12, 16, 24, 48, and 61–64 µs for every N not a multiple of
  4 (1, 2, 3, 5, 6, 7, 9, 15, 17, 33, 63); moving the input's start changed nothing. A
  session's output starts wherever the commands before the content left it, and moves by one
  at every stuffed dot, so most runs of our clients paid that. The lead of each run now stops
  at a 64-byte boundary of the output, and every wide block is stored from one (tested by
  `wide_blocks_are_stored_aligned` in `mailwire-simd`): criterion `body_encode`, medians,
  before → after in one sitting: `encode` of 1 MiB of the bench's body (a dot every 20 lines)
  84.3 → 64.9 µs, `encode_after_3` 84.3 → 64.4, `session_64k` of 100 MiB CRLF 8.7 → 7.3 ms.
  The LF rows moved too in criterion (`encode` 54.9 → 31.9 ms), but not in the harness
  (313 → 320 µs per MiB): a run of LF text ends before its lead does, so nothing changed
  there, and criterion's LF figure moves with how the bench crate was compiled. End to end
  against smtp-sink the change was within the spread (`target/release/e2e cpu --rounds 3`
  before and after, medians: `bulk::run` 365 → 385 µs, `send_many` 336 → 310, reference
  240 → 213).
- **Tried and left out (2026-12-02): doubling the dots inside the wide loop.** A wide block
  that failed only on dots after an LF was put with each dot doubled and the scan went on,
  so that a run ended only at a bare CR or LF (one run per 256 KiB on this body, not one per
  dot). In the harness above, 1 MiB of this body: 82–84 µs, then 73 with the stores kept
  aligned, against 60 for ending the run at each dot and 40 for the same text without dots:
  finding the dot in the failed block and putting the pieces around it cost more (about 48 ns
  a dot) than ending the run and starting the next one. Not in the code.
- **Against a fast sink the server works more for ours** (2026-12-02). With `e2e fast-sink`
  as the server, 200 messages, counted with `perf stat` on the sink's process and on the
  client's: the sink was switched out 738 times for the reference's messages, 1,129 for
  `bulk::run`'s and 1,453 for `send_many`'s; the client sent 3,407 packets on loopback for the
  reference, 4,009 and 4,283 for ours, the sink 1,487 against 1,804 and 1,637. The reference's
  one `write` a message arrives in fewer, larger pieces than our four 256 KiB ones. A larger
  body buffer (`Limits::body_buffer`, set in a build made to measure only; `bulk::run`, 7
  rounds each, medians, µs per message, client / server / sum): 256 KiB 315 / 192 / 506,
  512 KiB 274 / 186 / 445, 1 MiB 275 / 185 / 464, against the reference's 223 / 208 / 437;
  an earlier 5-round set gave 307 and 259 for the client at 256 and 512 KiB, 326 at 2 MiB.
  Against smtp-sink, two sets of the same: 363 → 313 in one, 321 → 326 in the other, and a
  set on 2026-12-01 (another machine) had 512 KiB 7% worse than 256. So the default stays at
  256 KiB, which also fits the smaller L2 of the CPUs before this one; a caller on a CPU with
  a large L2 and a fast server can raise it.
- **On the machine of this run the kernel's copy of our writes costs twice the reference's,
  and the write size explains much of it** (2026-12-02 evening: an AMD EPYC of family 26, Zen 5,
  with AVX-512, 1 MiB of L2 a core). `perf record -F 20000` of 400 messages against `e2e
  fast-sink` under cubic: `_copy_from_iter` (the kernel copying a `sendto`'s bytes into the
  socket's buffers) took 514 samples in the reference's run and 1,094 in `bulk::run`'s, for the
  same bytes; our fused scan and copy 791 against the 391 of the reference's `memmove` of its
  flight. The reference made to write its flight in 256 KiB pieces, as ours write (`e2e client
  reference --write-chunk 262144`, two runs each): 458 and 486 samples of `_copy_from_iter` in
  one `write` a message, 782 and 661 in pieces. Its whole CPU by piece size (`perf stat -e
  task-clock`, 400 messages, 3 runs each, ms): 64 KiB 112–151, 256 KiB 87–101, 512 KiB 82–92,
  1 MiB 85–102, one `write` 75–117. A 512 KiB body buffer on this machine (the two builds' runs
  alternated, 5 each, 200 messages, cubic, medians of task-clock in ms): against the fast sink
  `bulk::run` 56.4 → 49.1 and `send_many` 56.5 → 47.3 (the reference 37.0); against smtp-sink
  75 → 72 and 69 → 70 (the reference 59); under BBR the runs of one build ranged 46–175 ms and
  settled nothing. The default stays at 256 KiB, as above.
- **AVX-512 on Zen 5** (same machine, criterion `body_encode`): the scan alone is slower
  compiled for AVX-512BW than for AVX2 (1 MiB in cache 85.9 µs against 48.5; 100 MiB of CRLF
  text 7.2 ms against 5.2), but the fused scan and copy, which is what the encoders run, is
  not (76.8 against 73.3 µs, within the spread), and the meter's tally is faster (25.5 against
  29.4). The widest variant stays the one chosen.
- **AVX-512 on Zen 4, and the scans now run AVX2** (2026-12-04, an AMD EPYC of family 25,
  model 17: Zen 4, whose AVX-512 runs 512-bit operations in two halves). `scripts/bench.sh`'s
  `body_encode` rows, one run: the fused scan and copy of 1 MiB in cache 59.9 µs in AVX-512BW
  against 47.0 in AVX2, the scan alone 54.5 against 36.1, 100 MiB of CRLF text 6.3 ms against
  5.5, of LF text 15.5 against 15.4; the tally 24.9 against 25.5. On both CPUs measured, then,
  the 512-bit scans were never faster and the tally was never slower, so `mailwire_simd::active`
  now gives AVX2 for the scans wherever the CPU has it and `active_tally` the widest variant
  for the tally (`tests/equivalence.rs::the_portable_variant_always_runs` holds the choice).
  Criterion against a saved baseline in one sitting, before → after: `encode` of 1 MiB in cache
  74.6 → 54.1 µs (−28%), `session_64k` of 100 MiB CRLF −5%, `encode_into_64k` CRLF −5%; the LF
  rows moved by −1% to +22% between two runs of the same binary, within their spread (their
  runs of about 70 bytes end before a wide block matters). No Intel CPU with AVX-512 was here to
  measure.
- **The meter no longer runs the encoder's loop** (2026-12-02). A client measuring content
  before MAIL, as ours do for a server that announces SIZE (real servers do; smtp-sink and the
  fast sink do not, so no row above pays it) or that lacks 8BITMIME, ran the DATA encoder's scan
  over it, stopping at every dot (which the RFC 1870 size leaves out), and then `is_ascii` over
  it again. `mailwire_simd`'s tally counts the bare CRs and LFs over all pairs in a pass that
  stops nowhere and ORs the bytes for the 8-bit test: `measure` in the table above, before →
  after in one sitting, 1 MiB in cache 82.8 → 31.1 µs, 100 MiB of CRLF text 10.7 → 4.0 ms, of
  LF text 26.8 → 4.2 ms (`memcpy` of it 7.9).
- **Tried and left out (2026-12-02): the wide blocks tested as bit masks.** One load and three
  compares into mask registers per 64 bytes (CR, LF, dot; AVX-512BW, or AVX2 with `movemask`),
  the pairs found by shifting the masks one bit, and the run's end taken from the first set
  bit. In one process (a harness made to measure only: 1 MiB body, 300 passes, medians): in cache 56.6 µs against 62.0, after
  16 MiB of other writes 75 against 69; end to end under cubic (9 runs each, pinned as above)
  `bulk::run` 307 against 319, `send_many` 313 against 305, `smtp-bulk` generated 319 against
  336, `--dir` 471 against 453: no difference beyond the spread. Not in the code.
- **Before the scan was vectorised widely** (SSE2 only, 32 pairs a block): 35% of
  `ours-blocking`'s samples were the scan, 12% `memmove` (content copied into the session's
  output), 14% the kernel's copy into the socket; 616 µs per message against the reference's 328
  (1.88×).
- **The scan in the CPU's widest vectors** (`mailwire-simd`: the same safe loop compiled for
  AVX-512BW and AVX2, chosen at run time; the portable build stays for other CPUs and `no_std`):
  the scan alone runs more than twice as fast on a 1 MiB body in cache (the `body_encode` rows
  above), and end to end `ours-mio` went from about 1.9× to 1.25–1.4× the reference. Its layout:
  four 32-pair blocks first (text with bare LFs stops every ~70 bytes and ends there), then
  128-pair blocks, and a failed block narrowed in 32 and 8 pairs before the byte-by-byte end.
- **The scan copies as it goes** (`Scanner::copy_clean_prefix`): each 128-pair block that passes
  is appended while the scan holds it, so the body is read once, not scanned and then copied.
  Time in `write_body` in `ours-mio` (6 runs of 200 messages, the two builds in turn): dot-free
  CRLF 266 µs per message against 310; on the run's body (a run stops every ~1,400 bytes, at a
  dot) about the same. In cache it is the same on CRLF text and 3–12% slower on text with bare
  LFs (runs of 70 bytes, put in one piece after the scan for that reason); on CRLF text the body
  table's `scan_copy_*` rows set against its `scan_*` and `copy` rows compare the two.
- **What was left is the first read of the body.** Timed inside the scan in the real run, the
  scan of a 1 MiB body took 190–207 µs, and the same bytes scanned again straight after 44 µs:
  every message's body comes from memory, not from the caches (the kernel's socket buffers
  and whatever runs while the client waits for each 354 have taken them). In one process
  against smtp-sink, alternating per message so that each sees the same cache state: `memcpy`
  of that cold body 131–137 µs per MiB, the fused scan and copy 179–191. glibc's `memmove`
  (`rep movsb` at this size, what the reference pays for its flight) reads cold memory faster
  than a loop of vector loads does: in the same harness a loop that only touches one byte of
  each line and then copies took 93 µs per MiB against `memcpy`'s 60.
- **So the scan asks for the content 4 KiB ahead** (`mailwire-simd/src/prefetch.rs`, a
  prefetch hint from each 128-pair block and from the start of each run). In that harness
  (timing only the encoding) 92–127 µs per MiB against 116–154 without; 1 or 2 KiB ahead gave
  part of it, 16 or 32 KiB nothing. `cargo bench --bench body_encode` against a saved baseline:
  the AVX-512BW scan of 100 MiB of CRLF text 18.0 → 10.2 ms (`memcpy` of it 16.0), bare-LF text
  28.1 → 23.1, a session taking it 64 KiB at a time 19.5 → 10.9; 1 MiB in cache within ±4%. End
  to end (9 interleaved `perf stat` runs per set) 1–14% less CPU per message, `bulk::run` 433 →
  398 µs in the last set. What stays is the scan's own work and the dots: encoding this body
  costs about 65–90 µs per MiB in cache against 50 for the same bytes without dots (about
  23 ns per stuffed dot: the run ends, the dot is doubled, the next run starts).
- **`send_bytes` framed the first body buffer of each message twice**: content given with the
  message waited raw until MAIL was built, then was encoded into a second buffer (a 256 KiB
  `memmove` per message, 6–7% of `ours-blocking`'s samples). Now, when the content does not all
  fit and MAIL does not depend on the part taken (the content was measured, or the server's
  extensions make its facts irrelevant), the message starts first and that part is framed
  straight from the caller's bytes: 552 → 498 µs per message (9 interleaved runs), the
  `memmove` 2% of samples (`mailwire/tests/content_given_at_queue_time.rs` holds the wire to
  the stuffed body and the BODY=7BIT case to its old outcome).
- **Around it:** 4 `sendto`s per message (one per 256 KiB body buffer) and an `epoll_wait` each,
  against the reference's one `write` (the blocking adapter also set the socket's read timeout
  before each of its 2 waits a message; it now keeps a timeout that still fits the deadline:
  `strace -c`, 50 messages, 105 → 7 `setsockopt` calls, too little CPU to see end to end), and the session's own work per message (19 µs for a
  1 KiB message against the reference's 6, in the table above). Larger body buffers cost more,
  not less (7 runs each, `ours-mio`, reference 357–388 µs): 64 KiB 480, 128 KiB 478, 256 KiB
  469–497, 512 KiB 509, 1 MiB 626, 2 MiB 782: the kernel then copies from a buffer the
  encoder wrote too long before. Again with the prefetch in (7 runs each, reference 333):
  128 KiB 466, 256 KiB 453, 512 KiB 484, 1 MiB 523; 256 KiB stays. Reading files 256 KiB at a
  time instead of 64 KiB (`smtp-bulk --dir`, 7 runs each, two sets): 643 → 594, then 580 → 589:
  no gain; not in the code.
- **Tried and left out: copying first, scanning the copy.** `memcpy` of 4 to 64 KiB into the
  output, then the scan over that copy (in cache) and a recopy from each stop: on dot-free text
  120–131 µs per MiB against the fused loop's 121, on this body 201–293 against 137 (each dot
  recopies the rest of the chunk). **Finding the stop in a failed 128-pair block by its bit
  mask** instead of narrowing it in 32 and 8 pairs: 68.3 → 64.5 µs per MiB in cache on this
  body, within the spread on cold content; not in the code.
- **Tried and left out: writing the caller's bytes where they are** (`writev` of pieces of the
  caller's buffer and the bytes the encoder adds, instead of the copy). No gain on this body:
  a dot every 20 lines makes about 730 pieces per MiB, and the kernel's copy from the caller's
  buffer cost what the `memmove` saved (`send_many` × 100: 487 µs planned against 476 copied,
  9 runs each, reference 328). It is not in the code. Tried again on 2026-12-01 through the
  blocking adapter (`ours-blocking`, spans offered by the session after the 354 and written
  with one `writev` per 256 KiB): 491 µs per message against 440 copied on this body, 489
  against 485 on the same body without dots (9 and 7 interleaved runs, reference 339 and 408).
  The copy into the session's buffer is a write into 256 KiB that stays in the cache, which the
  kernel then reads from the cache; what costs is the first read of the body, which the plan
  makes too.
- `ours-blocking` one by one waits for each message's reply before the next MAIL (2.3 round
  trips per message, each a wake-up and a read on both sides).
- **`smtp-bulk --dir`** reads every file as it sends it: an open and 16 reads of 64 KiB from the
  page cache per message. Measured on 2026-12-01 (7 interleaved `perf stat -e
  user_time,system_time` runs of 200 messages against smtp-sink, medians, of `e2e client
  reference` and `e2e client reference-dir --dir D` (D: 200 hard links to the body
  dot-stuffed), and of `smtp-bulk --server 127.0.0.1:P --from F --to T --starttls never` with
  `--messages 200 --size 1048576` or `--dir D'` (D': 200 hard links to the body)): reference
  372 µs per message, `reference-dir` (the reference reading each
  pre-encoded body from its own file straight into its flight) 420, `smtp-bulk` generated 473,
  `--dir` 698. In `perf record` the kernel's copy out of the page cache (`_copy_to_iter`) is
  about 130 µs of `--dir`'s message. The reference reading files pays that copy instead of its
  `memmove` (the file lands where it is sent from); `--dir` pays it before its own fused scan
  and copy out of the read buffer: one more pass over every byte, which only reading the file
  into the session's output and encoding it there would save. The generated body of `smtp-bulk
  --messages --size` has no line that starts with a dot; `--dir` sends the run's body, a dot
  every 20 lines. The dots do not explain the gap: the same files without dots cost `--dir`
  more, not less (5 runs each, taken in turn: 658 µs with dots, 754 without). Why a dot-free
  body costs more is not known; the reference's figures in the in-place sets above moved the
  same way (339 with dots, 408 without, two sets measured apart).
- **`smtp-bulk --dir` again, 2026-12-03: what its extra pass costs, and why moving it does not
  save it** (`scripts/dir-profile.sh`: `perf record -e cpu-clock -F 10000 -g` of `smtp-bulk`
  against smtp-sink, 2,000 hard links to a 1 MiB body with a dot every 20 lines, then the
  generated body; `pagecache_read`; `valgrind --tool=dhat`). Per message, in two runs of it:
  the kernel's copy out of the page cache (`_copy_to_iter`) 74 and 78 µs, the fused scan and
  copy into the body buffer 126 and 136, the kernel's copy into the socket 88 and 95;
  generated (no file, no dots): no page-cache copy, 100 and 123, 63 and 81. The same binary on
  the same files spent 9,000 samples in one run and 16,000 in the next (`_copy_to_iter` 1,019
  and 2,067 of them; the second with glibc's malloc thresholds raised, which the kernel's
  copies do not see): what a pass over 1 MiB costs moves twofold between minutes of this VM,
  and a client that makes three passes moves with it more than one that makes two. Alone
  (`target/release/pagecache_read FILE`: the file read to its end 400 times per case), the
  read costs 23–27 µs per MiB at best in 64 KiB reads and 17–26 in 256 KiB or 1 MiB reads
  (means 29–36 and 18–30), whatever the buffer's offset from a page (0, 16, 64, 2,048, 4,080
  bytes): alignment is not the cost, and the read size is worth a few µs where the run pays
  74–78; what differs in the run is the cache the copies share with the socket's buffers and
  the server (inferred, not measured: this VM has no cache counters). The reference makes two
  passes (a `memmove` into its flight, the kernel's copy into the socket), `reference-dir` two
  (the kernel's read into the flight, the copy into the socket), `--dir` three; were the passes
  all the cost, that would be 1.5×, about what the interleaved rounds above give it against
  `reference-dir`. Reading each chunk into the session's output and dot-stuffing it there would
  not save a pass on this body: after the first stuffed dot every later byte of the chunk moves
  by one or more, which is the same copy within the cache. Only a mapping of the file (`mmap`,
  scanned where it lies) would, and a file truncated while mapped kills the process with
  SIGBUS: not done. Allocations (dhat, 200 messages): about 96 blocks per message, 12.5 MiB of
  the 16 MiB allocated in all being the 64 KiB read buffer of each message's feed (zeroed once
  each); `malloc` and `free` together took 5–15 µs of a message in the `perf` profiles:
  recycling the buffer would save less than the spread of one run, so it is not done.
- **The cubic rows again, 2026-12-03** (`sysctl -w net.ipv4.tcp_congestion_control=cubic;
  target/release/e2e cpu --out cpu-cubic.json`, 7 rounds, alone, a day after the run above,
  same code): median ratios to the reference (249 µs per message) `send_bytes` 1.30×,
  `send_many` 1.27×, `bulk::run` 1.25×, `smtp-bulk` generated 1.30×, `--dir` 1.59× (`reference-dir` 1.10×;
  `--dir` against it round by round 1.71×). Generated moved from 1.34× to 1.30× between two runs of the
  same binary: the 1.3× line sits inside the spread of this comparison under cubic. With
  smtp-sink's CPU added (3.2–3.7 ms per message, 8 to 15 times any client's) every client's
  total was 0.95–0.99× the reference's.
- **`--dir` against a floor with our encoder in it, 2026-12-03** (`target/release/e2e cpu`,
  twice, 7 rounds each, bbr; the new `reference-dir-encode` client: `reference-dir` reading the
  raw files 64 KiB at a time through `mailwire::body::DataEncoder` into a 256 KiB buffer, so the
  three passes of `--dir` and nothing else of ours). Median ratios to the reference (254 µs per
  message both times): `reference-dir-encode` 1.56× then 1.25×, `smtp-bulk-dir` 1.34× then
  1.98×, `smtp-bulk-dir` against `reference-dir-encode` round by round 0.93× (0.66–1.82) then
  1.43× (1.07–2.19); `smtp-bulk` generated 1.08× then 1.64×. What the session, the feed and
  the mio loop add beyond the encoder's own pass is within what two runs of 7 rounds cannot
  separate (nothing in one, 43% in the other), and the same 7 rounds put one row on either
  side of the 1.3× line from one minute to the next (in the second run generated
  `smtp-bulk`'s single rounds ran from 0.87× to 2.32×).
- **Pinned against not pinned, 2026-12-03** (`target/release/e2e cpu --pin`: every client on
  CPU 0, smtp-sink on CPU 1; 8 runs taken in turn with and without, 5 rounds in the first four
  and 7 in the last four, bbr). The reference's spread within a run did not narrow: its
  coefficient of variation was 0.15–0.17 pinned and 0.14–0.21 not, its single runs 237–576 µs
  and 247–882. Of the four rows `send_bytes`, `send_many`, `bulk::run` and generated
  `smtp-bulk`, the runs put 1, 0, 2 and 1 above 1.3× pinned (generated at 1.301× in the first)
  and one in each run not pinned, a different row each time; `--dir` was above it in all 8
  (1.40–1.82×), and against
  `reference-dir-encode` round by round 0.83–1.73× (1.30× or less in 4 of 8). Pinning moves no
  row to a side of the line it keeps; it is an option, not the default.
"""


METHOD_NOTES = """## Method and caveats

- **One run, shared machine.** Criterion reports the median of its samples; the end-to-end figures
  are a single run each, except the interleaved CPU section (medians of its rounds). The load
  average above says how busy the machine was: on a 2-core machine with other work running,
  absolute figures move by tens of percent between runs; the ratios and the round-trip counts
  move much less, but not nothing: the interleaved median ratio of one client moved from 1.25×
  to 1.36× between two runs of this script half an hour apart with the same client code.
- **One connection is latency-bound, and this VM's latency depends on its state.** A client and
  smtp-sink on one connection wake each other once or twice per message, so the rate follows the
  scheduler's wake-up latency, not CPU. On this machine an idle VM (load near 0) wakes up far more
  slowly than a busy one: the same script gave smtp-source 7,996 and our mio adapter 24,611
  messages/s on one connection at 12:01 UTC (load 1.3–1.9, a fuzzer running) and about a fifth of
  that at 12:58 UTC (load under 1), and every client's CPU per message rose with it. Compare
  clients within one run; the ratios held across both runs.
- **2,000, not 10,000, new connections.** Every closed loopback connection leaves a socket in
  TIME_WAIT for a minute, and five clients × 10,000 connections would exhaust the ephemeral port
  range (about 28,000 ports) within one run; 2,000 per client stays well inside it.
- **CPU time granularity.** The kernel may account process CPU time in scheduler ticks; for
  short runs (a few hundred milliseconds), CPU per message is coarse.
- **lettre** on one connection uses `SmtpConnection` (the connection type `SmtpTransport` is
  built on) directly, without the `pool` feature: the pool would add a NOOP round trip before
  each reuse (`test_connected`). For a new connection per message it is `SmtpTransport::send_raw`
  without the pool, which connects, sends and says QUIT each time. Its as-shipped runs are
  capped at 200 messages because of the delayed-ACK stall explained above.
- **smtplib** runs `sendmail` in a loop (`benches/py/smtplib_client.py`, standard library only);
  **smtp-source** gets the same message with `-F` (LF file; it adds CRLF and dot-stuffs), `-d`
  for one connection, `-r` for recipients.
- **Same bytes.** Every client sends the same message bytes (CRLF, a dot-stuffed line in each
  1 KiB message) to the same envelope (`rcptN@bench.example`).
- **Round trips** are counted on a separate run of 10 to 50 messages through a relay (it would
  distort timing), so they are per message including each connection's greeting, EHLO and QUIT.
- **Profiling the parser:** `target/release/reply_loop lines100 20000` parses one of the replies
  above in a loop; run it under `valgrind --tool=callgrind` (instruction counts do not depend on
  the machine's load) and read it with `callgrind_annotate`.
- **Async rows** (`benches/src/bin/async_clients.rs`): one connection on tokio's
  current-thread runtime (`send_many` 100 at a time for ours, one message after another for
  lettre's `AsyncSmtpConnection` and mail-send's `SmtpClient`); the pool workload is 16 tasks over
  4 connections on two worker threads (`mailwire_tokio::Pool::send_bytes`, lettre's
  `AsyncSmtpTransport::send_raw` with its pool); mail-send has no pool.
- **Not measured here:** implicit TLS (the TLS rows use STARTTLS); servers other than smtp-sink
  and aiosmtpd (smtp-sink advertises PIPELINING but not CHUNKING, so BDAT is not exercised).
"""


def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def criterion(results, group, func, param):
    """(median ns per iteration, bytes per iteration) or None."""
    base = os.path.join(results, "criterion", group, func, param, "new")
    est = load(os.path.join(base, "estimates.json"))
    bench = load(os.path.join(base, "benchmark.json"))
    if not est or not bench:
        return None
    size = (bench.get("throughput") or {}).get("Bytes", 0)
    return est["median"]["point_estimate"], size


def fmt_rate(x):
    if x >= 1e9:
        return f"{x / 1e9:.2f} G"
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.1f} "


def fmt_ns(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.1f} ns"


def reply_section(results, out):
    allocs = load(os.path.join(results, "allocs.json"), {})
    out.append("## Reply parsing\n")
    out.append("One complete reply per iteration, parsed from a byte slice in memory "
               "(`cargo bench -p mailwire-benches --bench reply_parse`). Time is criterion's median "
               "per reply; replies/s and MB/s follow from it; allocations per reply are counted "
               "by the `reply_allocs` binary with a counting global allocator (steady state).\n")
    out.append("| reply | parser | time / reply | replies/s | MB/s | allocations / reply |")
    out.append("|---|---|---:|---:|---:|---:|")
    chart = []
    for shape, title in SHAPES:
        for key, name in PARSERS:
            r = criterion(results, "reply_parse", key, shape)
            if r is None:
                continue
            ns, size = r
            per_s = 1e9 / ns
            a = (allocs.get(shape) or {}).get(key)
            a = "–" if a is None else f"{a:g}"
            out.append(f"| {title} | {name} | {fmt_ns(ns)} | {fmt_rate(per_s)} | "
                       f"{size * per_s / 1e6:,.0f} | {a} |")
            chart.append((shape, key, per_s))
    out.append("")
    # Ratios, computed.
    lines = []
    for shape, title in SHAPES:
        ours = criterion(results, "reply_parse", "ours", shape)
        if not ours:
            continue
        parts = []
        for key, name in PARSERS[1:]:
            other = criterion(results, "reply_parse", key, shape)
            if other:
                ratio = other[0] / ours[0]
                parts.append(f"{ratio:.2f}× the speed of {name}" if ratio >= 1
                             else f"{1 / ratio:.2f}× slower than {name}")
        lines.append(f"- {title}: ours is " + "; ".join(parts) + ".")
    out.extend(lines)
    out.append("")
    out.append("Notes. lettre is measured through its public entry point `Response::from_str` on "
               "the complete reply, after the UTF-8 check its reader does; that is its best case: "
               "its connection reads line by line and re-parses the whole buffer after every "
               "line, so an n-line reply costs it n parses. Stalwart's `ResponseReceiver` is reset "
               "between replies as its client does; it refuses replies over 4 KiB, hence the "
               "100-line reply's 30-byte lines. The memchr row only finds line ends: no code, no "
               "validation, no copy; it is the floor no parser can reach.\n")
    return chart


def body_section(results, out):
    out.append("## Body encoding\n")
    out.append("Dot-stuffing and line-end normalisation of a 100 MiB text body (70-byte lines, "
               "every 20th starting with `.`) into a reused buffer "
               "(`cargo bench -p mailwire-benches --bench body_encode`); throughput is input bytes "
               "per second, criterion's median.\n")
    out.append("| line ends | method | time / 100 MiB | GB/s | vs memcpy |")
    out.append("|---|---|---:|---:|---:|")
    for ends, title in [("lf", "LF (each becomes CRLF)"), ("crlf", "CRLF"),
                        ("crlf_1m", "CRLF, 1 MiB (stays in cache)")]:
        copy = criterion(results, "body_encode", "copy", ends)
        for key, name in BODY:
            r = criterion(results, "body_encode", key, ends)
            if r is None:
                continue
            ns, size = r
            ratio = f"{copy[0] / ns:.2f}×" if copy else "–"
            per = f"{ns / 1e6:.1f} ms" if size > 8 << 20 else f"{ns / 1e3:.1f} µs / MiB"
            out.append(f"| {title} | {name} | {per} | {size / ns:.2f} | {ratio} |")
    out.append("")


def e2e_section(results, out):
    e2e = load(os.path.join(results, "e2e.json"), {"runs": []})
    runs = e2e.get("runs", [])
    out.append("## End to end, against Postfix's smtp-sink on 127.0.0.1\n")
    out.append("Each client runs in its own process against a fresh `smtp-sink` (PIPELINING "
               "advertised, no CHUNKING), one connection at a time. messages/s and MB/s "
               "(message bytes, 10^6) use the client's own wall time from its first connect to its "
               "last reply (smtp-source does not time itself: its process's wall time). CPU per "
               "message is user + system time of the client process from `wait4` (process start "
               "included), divided by messages; peak RSS is `ru_maxrss`. Round trips per message "
               "come from a separate, untimed run of a few messages through a relay that counts "
               "how often the server spoke after the client did (greeting, EHLO and QUIT "
               "included, so they add a little). Server CPU is smtp-sink's own `wait4` time over "
               "the client's wall time: near 100% means the server, not the client, set the "
               "pace.\n")
    by_w = {}
    for r in runs:
        by_w.setdefault(r["workload"], []).append(r)
    chart = []
    floors = [r["rss_floor_kib"] for r in runs if r.get("rss_floor_kib")]
    if floors:
        out.append(f"Peak RSS has a floor of {min(floors) / 1024:.1f} to "
                   f"{max(floors) / 1024:.1f} MiB here: Linux records the parent's high-water "
                   "mark in a child's `ru_maxrss` when it execs, so `true` started by this driver "
                   "reports that much. Below it, the tables cannot tell clients apart; the "
                   "memory bounds are asserted by tests (heap high-water marks) and shown by the "
                   "memory section, whose driver stays small.\n")
    for wid, rows in by_w.items():
        out.append(f"### {rows[0]['title']}\n")
        out.append("| client | messages | messages/s | MB/s | round trips / msg | "
                   "CPU µs / msg | peak RSS | server CPU |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            name = CLIENTS.get(r["client"], r["client"])
            msgs = f"{r['ok']:,}" + (" (capped)" if r.get("capped") else "")
            if r.get("failed") or r.get("exit") or r.get("timed_out"):
                msgs += f" ⚠ failed {r.get('failed')}, exit {r.get('exit')}" + (
                    ", timed out" if r.get("timed_out") else "")
            rtt = r.get("round_trips_per_msg")
            rtt = "–" if rtt is None else f"{rtt:.2f}"
            server = r.get("server_cpu_secs", 0) / r["secs"] * 100 if r["secs"] else 0
            out.append(f"| {name} | {msgs} | {r['msgs_per_sec']:,.0f} | "
                       f"{r['mb_per_sec']:,.2f} | {rtt} | {r['cpu_us_per_msg']:,.0f} | "
                       f"{r['max_rss_kib'] / 1024:.1f} MiB | {server:.0f}% |")
            chart.append((wid, r["client"], r["msgs_per_sec"], r["title"]))
        out.append("")
    e2e_findings(by_w, out)
    return by_w, chart


def e2e_findings(by_w, out):
    """Computed sentences about the end-to-end tables."""
    def row(wid, client):
        return next((r for r in by_w.get(wid, []) if r["client"] == client), None)

    out.append("### What the end-to-end tables say\n")
    lt, ln = row("1k_one", "lettre"), row("1k_one", "lettre-nodelay")
    if lt and ln and lt["msgs_per_sec"] > 0:
        out.append(
            f"- **lettre as shipped** manages {lt['msgs_per_sec']:.1f} messages/s: "
            f"{1000 / lt['msgs_per_sec']:.0f} ms per message on loopback, while its CPU time is "
            f"{lt['cpu_us_per_msg']:.0f} µs per message (it was capped at {lt['messages']} "
            "messages for that reason). It writes the content and then the end mark "
            "`\\r\\n.\\r\\n` in two `write`s on a socket without TCP_NODELAY: Nagle's algorithm "
            "holds the small second write until the first is acknowledged, and the server, "
            "which has nothing to say until it sees the end mark, delays its ACK (Linux: about "
            "40 ms). The `lettre-nodelay` row is our own experiment, not lettre as shipped: the "
            "same lettre code with TCP_NODELAY set on its socket from outside after connecting "
            f"(setsockopt on the process's socket fd). It runs at {ln['msgs_per_sec']:,.0f} "
            "messages/s, so the stall is the whole story. lettre has no option to set it, and "
            "its `SmtpConnection` does not expose the socket.")
    parts = []
    for wid in ["1k_one", "1k_each", "rcpt50", "1m_one"]:
        ours = row(wid, "ours-blocking")
        if not ours:
            continue
        best = max((r for r in by_w.get(wid, []) if not r["client"].startswith(PEERS_NOT)
                    and "nodelay" not in r["client"]),
                   key=lambda r: r["msgs_per_sec"], default=None)
        batch, mio = row(wid, "ours-blocking-batch"), row(wid, "ours-mio")
        if best:
            text = (f"{ours['title']} (vs {CLIENTS.get(best['client'], best['client'])}): "
                    "blocking one by one "
                    f"{ours['msgs_per_sec'] / best['msgs_per_sec']:.2f}×")
            if batch:
                text += f", blocking batched {batch['msgs_per_sec'] / best['msgs_per_sec']:.2f}×"
            if mio:
                text += f", mio {mio['msgs_per_sec'] / best['msgs_per_sec']:.2f}×"
            parts.append(text)
    if parts:
        out.append("- **Ours against the fastest shipped peer**, in messages/s: "
                   + "; ".join(parts) + ".")
    rt = [(r["client"], r["round_trips_per_msg"]) for r in by_w.get("rcpt50", [])
          if r.get("round_trips_per_msg") is not None]
    if rt:
        out.append("- **Round trips per message** with 50 recipients: " + "; ".join(
            f"{CLIENTS.get(c, c)}: {v:.2f}" for c, v in rt) + ". With PIPELINING, MAIL, every "
            "RCPT and DATA go in one flight and the content in a second; `send_many` also sends "
            "the next message's commands with the previous content, so about one round trip "
            "per message. The peers wait for each reply.")
    big = by_w.get("1m_one", [])
    if big:
        fastest = max(big, key=lambda r: r["msgs_per_sec"])
        share = fastest.get("server_cpu_secs", 0) / fastest["secs"] * 100 if fastest["secs"] else 0
        client_share = fastest["cpu_us_per_msg"] * fastest["msgs_per_sec"] / 1e4
        name = CLIENTS.get(fastest["client"], fastest["client"])
        if share >= 80:
            out.append(
                f"- **1 MiB messages are bound by smtp-sink**, not by the clients: during the "
                f"fastest run ({name}, {fastest['mb_per_sec']:.0f} MB/s) smtp-sink's single "
                f"process was busy {share:.0f}% of the time (it reads the content line by line), "
                f"the client {client_share:.0f}%. Compare the clients there by CPU per message.")
        else:
            out.append(
                f"- **1 MiB messages**: during the fastest run ({name}, "
                f"{fastest['mb_per_sec']:.0f} MB/s) smtp-sink's single process was busy "
                f"{share:.0f}% of the time and the client {client_share:.0f}%: neither filled a "
                "core, so the rest of the machine's load set the pace. Compare the clients there "
                "by CPU per message, not by messages/s.")
    held = [r for r in big if r["client"] in ("ours-blocking-batch", "ours-mio",
                                              "smtp-bulk-dir", "smtp-bulk-gen")]
    one = row("1m_one", "ours-blocking")
    if held and one:
        top = max(r["max_rss_kib"] for r in held)
        floor_kib = max(r.get("rss_floor_kib", 0) for r in held + [one])
        text = ("- **Queued content is bounded.** With 1 MiB messages, the windowed clients ("
                + ", ".join(CLIENTS[r["client"]] for r in held)
                + f") peaked at {top / 1024:.1f} MiB or less, one by one "
                f"{one['max_rss_kib'] / 1024:.1f} MiB")
        if top <= floor_kib + 512:
            text += (f": all at this driver's RSS floor ({floor_kib / 1024:.1f} MiB), so the "
                     "table shows only an upper bound, under the 16 MiB goal for 200 × 1 MiB "
                     "with a window of 32")
        text += (". Queued messages hold the start of their content (what the body buffer "
                 "takes), and the rest is pulled from its source as the session asks for it "
                 "(`ContentFeed`), whatever the window in messages (32 for `bulk::run`, 100 for "
                 "`send_many` here). The bounds are asserted by "
                 "`mailwire-blocking/tests/memory.rs`, `mailwire-mio/tests/bulk_memory.rs`, "
                 "`mailwire-tokio/tests/memory.rs` (heap high-water marks) and the smtp-bulk RSS "
                 "test in `mailwire-cli/tests/bulk.rs`.")
        out.append(text)
    floor = row("1m_one", "reference")
    if floor and floor["cpu_us_per_msg"] > 0:
        ratios = [(r["client"], r["cpu_us_per_msg"] / floor["cpu_us_per_msg"]) for r in big
                  if r["client"].startswith(("ours", "smtp-bulk"))]
        if ratios:
            out.append(
                f"- **CPU per 1 MiB message against the floor** in these single runs (the "
                f"reference client, {floor['cpu_us_per_msg']:,.0f} µs: the body dot-stuffed "
                "once before the run, then only `write`s): " + "; ".join(
                    f"{CLIENTS.get(c, c)} {x:.2f}×" for c, x in ratios)
                + ". Each row ran in a different minute of a VM whose speed drifts; the "
                "interleaved rounds of \"CPU per 1 MiB message, interleaved\" below are what "
                "issue 14's 1.3× is judged on.")
    pool = by_w.get("1k_pool", [])
    one_k = [r for r in by_w.get("1k_one", []) if r["client"] in
             ("ours-tokio", "lettre-async", "lettre-async-nodelay", "mail-send",
              "mail-send-nodelay")]
    if one_k or pool:
        parts = [f"{CLIENTS.get(r['client'], r['client'])} {r['msgs_per_sec']:,.0f}/s at "
                 f"{r['cpu_us_per_msg']:,.0f} µs CPU" for r in one_k]
        pparts = [f"{CLIENTS.get(r['client'], r['client'])} {r['msgs_per_sec']:,.0f}/s at "
                  f"{r['cpu_us_per_msg']:,.0f} µs CPU" for r in pool]
        text = "- **The async path** (tokio current-thread runtime for one connection, two " \
               "workers for the pool): "
        if parts:
            text += "one connection: " + "; ".join(parts) + ". "
        if pparts:
            text += ("Through a pool (16 tasks, 4 connections, each send waiting for its "
                     "outcome): " + "; ".join(pparts) + ". lettre's pool sends a NOOP before "
                     "every reuse; ours checks only a connection idle past `idle_check_after`. "
                     "mail-send has no pool.")
        out.append(text)
    out.append("- CPU per message includes starting the process (Python's interpreter start is "
               "tens of milliseconds, spread over the run's messages).")
    out.append("")


def tls_section(results, out):
    tls = load(os.path.join(results, "tls.json"), {"runs": []})
    runs = tls.get("runs", [])
    if not runs:
        return
    out.append("## TLS: STARTTLS + AUTH PLAIN against aiosmtpd\n")
    out.append("aiosmtpd (`testkit/peers/aiosmtpd_server.py`, Python) on 127.0.0.1 with the test "
               "certificate, STARTTLS and AUTH PLAIN required, messages not stored; every client "
               "checks the certificate against the test CA. Same bytes as the plain runs. For a "
               "new connection per message, each message is a TCP connect, greeting, EHLO, "
               "STARTTLS, handshake, EHLO, AUTH, the message and QUIT, so messages/s is "
               "handshakes/s. \"resumed\" counts handshakes that resumed a TLS session "
               "(our clients report it; a row with – does not say). The `-full` "
               "rows turn resumption off (`TlsOptions::resumption = false`). In the "
               "new-connection table smtp-bulk runs with `--max-per-connection 1` and "
               "`bulk::run` with `BulkConfig::max_per_connection = Some(1)` (one message a "
               "connection, then QUIT); swaks is one process per message (`--tls --tls-verify "
               "--tls-ca-path`, so it checks the certificate too).\n")
    by_w = {}
    for r in runs:
        by_w.setdefault(r["workload"], []).append(r)
    for wid, rows in by_w.items():
        out.append(f"### {rows[0]['title']}\n")
        out.append("| client | messages | messages/s | CPU µs / msg | peak RSS | server CPU | "
                   "resumed |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            msgs = f"{r['ok']:,}" + (" (capped)" if r.get("capped") else "")
            if r.get("failed") or r.get("exit") or r.get("timed_out"):
                msgs += f" ⚠ failed {r.get('failed')}, exit {r.get('exit')}"
            server = r.get("server_cpu_secs", 0) / r["secs"] * 100 if r.get("secs") else 0
            resumed = r.get("tls_resumed")
            out.append(f"| {CLIENTS.get(r['client'], r['client'])} | {msgs} | "
                       f"{r['msgs_per_sec']:,.1f} | {r['cpu_us_per_msg']:,.0f} | "
                       f"{r['max_rss_kib'] / 1024:.1f} MiB | {server:.0f}% | "
                       f"{'–' if resumed is None else resumed} |")
        out.append("")
    each = next((rows for wid, rows in by_w.items() if "each" in wid), [])
    pick = {r["client"]: r for r in each}
    notes = []
    for ours, full in (("ours-mio", "ours-mio-full"), ("ours-blocking", "ours-blocking-full")):
        if ours in pick and full in pick and pick[full]["cpu_us_per_msg"] > 0:
            notes.append(f"{CLIENTS[ours]} {pick[ours]['cpu_us_per_msg']:,.0f} µs CPU per "
                         f"connection with resumption against {pick[full]['cpu_us_per_msg']:,.0f} "
                         "without")
    if notes:
        out.append("- **Resumption** (one shared client configuration per server, its session "
                   "store reused by every connection): " + "; ".join(notes) + ".")
    busy = [r for r in runs if r.get("secs") and r.get("server_cpu_secs", 0) / r["secs"] > 0.8]
    if busy:
        out.append(f"- In {len(busy)} of {len(runs)} runs aiosmtpd was busy more than 80% of "
                   "the wall time: there the server set the pace, and the clients compare by "
                   "CPU per message, not by messages/s.")
    out.append("")


def many_section(results, out):
    many = load(os.path.join(results, "many.json"), {"runs": []})
    runs = many.get("runs", [])
    if not runs:
        return
    out.append("## Many sessions on one mailwire-mio thread\n")
    out.append("`smtp-bulk` (one thread, `mailwire_mio::bulk::run`) with K connections to one "
               "smtp-sink (`-m` raised above its default of 256 simultaneous sessions), a "
               "window of 4 messages per connection, up to 1,024 connecting at once (its listen "
               "backlog is 4,096), 1 KiB "
               "messages. \"peak open\" is the most sessions smtp-bulk had open at once.\n")
    out.append("| K | messages | messages/s | CPU µs / msg | peak RSS | peak open | sink CPU |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        server = r.get("server_cpu_secs", 0) / r["secs"] * 100 if r.get("secs") else 0
        out.append(f"| {r['k']:,} | {r['ok']:,} | {r['msgs_per_sec']:,.0f} | "
                   f"{r['cpu_us_per_msg']:,.1f} | {r['max_rss_kib'] / 1024:.1f} MiB | "
                   f"{r.get('peak_connections', '?')} | {server:.0f}% |")
    out.append("")
    lo, hi = runs[0], runs[-1]
    opened = (hi.get("peak_connections") or 0) - (lo.get("peak_connections") or 0)
    if opened > 0:
        per = (hi["max_rss_kib"] - lo["max_rss_kib"]) / opened
        out.append(f"Between K = {lo['k']} and K = {hi['k']}, peak RSS grew by "
                   f"{per:.1f} KiB per session open at once.\n")


def cpu_section(results, out):
    runs = [(name, load(os.path.join(results, name))) for name in ("cpu.json", "cpu-cubic.json")]
    runs = [(name, cpu) for name, cpu in runs if cpu and cpu.get("clients")]
    if not runs:
        return
    out.append("## CPU per 1 MiB message, interleaved\n")
    rounds, messages = runs[0][1].get("rounds", 0), runs[0][1].get("messages", 0)
    if runs[0][1].get("method") == "neighbours":
        out.append(f"`e2e cpu`: {rounds} rounds; in each, every client of ours below sends "
                   f"{messages} × 1 MiB to a fresh smtp-sink on one connection, each run between "
                   "two runs of the reference (the clients' order rotated by one each round). "
                   "Each ratio is the client's CPU per message (user + system, `wait4`, process "
                   "start included) over the mean of the two reference runs around it, a few "
                   "seconds away on either side, so that a slow minute of the VM weighs on both "
                   "sides of each ratio. The table gives the medians and the range over rounds "
                   "(the reference's row: over all its runs).\n")
    else:
        out.append(f"`e2e cpu`: {rounds} rounds; in each, the reference and every client of "
                   f"ours below send {messages} × 1 MiB to a fresh smtp-sink on one connection, "
                   "back to back (the order rotated by one each round). Each round's ratio is "
                   "the client's CPU per message (user + system, `wait4`, process start "
                   "included) over the reference's in the same round, so that a slow minute of "
                   "the VM weighs on both sides of each ratio. The table gives the medians and "
                   "the range over rounds.\n")
    if len(runs) > 1:
        ccs = [cpu.get("congestion_control") or "unknown" for _, cpu in runs]
        text = (f"The comparison ran twice: under this machine's TCP congestion control "
                f"({ccs[0]}) and under {ccs[1]}, Linux's default, set by `scripts/bench.sh` for "
                "that run and put back after.")
        if ccs[0] != "bbr":
            out.append(text + "\n")
        else:
            out.append(text + " Under BBR the kernel paces each "
                       "connection's segments from a timer, and whatever process is on the CPU "
                       "when it fires is charged for the transmit work it does: a client that "
                       "encodes the next part of the body while the last part is paced out "
                       "(every client of ours) is charged for more of it than the reference, "
                       "which hands the kernel each message in one `write` and sleeps in "
                       "`read`. How much depends on the bandwidth BBR estimates for the "
                       "connection as it starts, so a client's runs fall into two groups. "
                       "\"Where the CPU goes\" below has the measurements.\n")
    for name, cpu in runs:
        cc = cpu.get("congestion_control") or "unknown"
        if len(runs) > 1:
            out.append(f"### Under {cc}\n")
        else:
            out.append(f"TCP congestion control: {cc}.\n")
        out.append("| client | CPU µs / msg (median) | range | ratio to the reference (median) "
                   "| range |")
        out.append("|---|---:|---:|---:|---:|")
        for c in cpu["clients"]:
            us, ratios = c["cpu_us_per_msg"], c["ratios"]
            out.append(f"| {CLIENTS.get(c['client'], c['client'])} | {c['median_us']:,.0f} | "
                       f"{min(us):,.0f}–{max(us):,.0f} | {c['median_ratio']:.2f}× | "
                       f"{min(ratios):.2f}–{max(ratios):.2f} |")
        out.append("")
        ours = [c for c in cpu["clients"] if not c["client"].startswith("reference")]
        within = [CLIENTS.get(c["client"], c["client"]) for c in ours
                  if c["median_ratio"] <= 1.3]
        above = [CLIENTS.get(c["client"], c["client"]) for c in ours if c["median_ratio"] > 1.3]
        text = f"Issue 14's goal is 1.3× (median over the rounds); under {cc}: "
        text += ("within it: " + ", ".join(within)) if within else "no client of ours within it"
        if above:
            text += "; above it: " + ", ".join(above)
        out.append(text + ".\n")
        # `smtp-bulk --dir` against each floor that ran, round by round.
        floors = [
            ("like_for_like", "reference-dir",
             "Reading the files is work of its own: the reference reading each pre-encoded body "
             "from its own file (an open and a `read` of it into its flight, where the reference "
             "copies it from memory) spent {floor:.2f}× the reference's CPU per message. Against "
             "that floor, round by round,"),
            ("like_for_like_encode", "reference-dir-encode",
             "The same floor with our encoder in it (" + CLIENTS["reference-dir-encode"] +
             ": the three passes of `--dir` over each byte, without the session, the feed or "
             "the mio loop) spent {floor:.2f}× the reference's CPU; against it, round by round,"),
        ]
        for key, name, lead in floors:
            lfl = cpu.get(key)
            floor = next((c for c in cpu["clients"] if c["client"] == name), None)
            if lfl and floor and lfl.get("ratios"):
                r = lfl["ratios"]
                out.append(lead.format(floor=floor["median_ratio"]) +
                           f" {CLIENTS['smtp-bulk-dir']} spent {lfl['median_ratio']:.2f}× "
                           f"(median; {min(r):.2f}–{max(r):.2f}).\n")


def cpu_fast_section(results, out):
    cpu = load(os.path.join(results, "cpu-fast.json"), None)
    if not cpu or not cpu.get("clients"):
        return
    cc = cpu.get("congestion_control") or "unknown"
    out.append("### Against a fast sink: the client's CPU and the server's together\n")
    out.append(f"The same interleaved rounds ({cpu['rounds']} of {cpu['messages']} × 1 MiB, "
               f"congestion control {cc}) against `e2e fast-sink` (`benches/src/fast_sink.rs`: "
               "256 KiB reads, the end of the content found with `memmem`, nothing stored) in "
               "place of smtp-sink, which spends about 5 ms on each of these messages, so that "
               "there the server's CPU drowns the client's. On loopback the receiver's TCP work "
               "runs in whichever process sends the segment or opens the window, and is billed "
               "to it; the sum of both processes is what the machine spent, however it was "
               "billed. Each total ratio is the client's and the server's CPU together over the "
               "reference's together, against the two reference runs around it.\n")
    out.append("| client | client CPU µs / msg | ratio | server CPU µs / msg | client + server µs "
               "| ratio of the sums (median) | range |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for c in cpu["clients"]:
        tr = c.get("total_ratios") or [0]
        out.append(f"| {CLIENTS.get(c['client'], c['client'])} | {c['median_us']:,.0f} | "
                   f"{c['median_ratio']:.2f}× | {c.get('median_server_us', 0):,.0f} | "
                   f"{c.get('median_total_us', 0):,.0f} | {c.get('median_total_ratio', 0):.2f}× | "
                   f"{min(tr):.2f}–{max(tr):.2f} |")
    out.append("")
    ref = next((c for c in cpu["clients"] if c["client"] == "reference"), None)
    ours = [c for c in cpu["clients"] if not c["client"].startswith("reference")]
    if ref and ours:
        more = [c for c in ours if c.get("median_server_us", 0) > ref.get("median_server_us", 0)]
        out.append(f"The server spent {ref.get('median_server_us', 0):,.0f} µs per message on the "
                   "reference's, and more on " + (f"{len(more)} of our {len(ours)} clients'"
                   if more else "none of ours") + " (\"Where the CPU goes\" has what "
                   "differs on the wire).\n")


def memory_section(results, out):
    mem = load(os.path.join(results, "memory.json"), {"runs": []})
    runs = mem.get("runs", [])
    if not runs:
        return
    out.append("## Memory: one large message\n")
    out.append("One message to smtp-sink; our adapters stream it from a file (blocking "
               "`Client::send(envelope, File)`, mio `Content::file`, tokio `Client::send` of a "
               "`tokio::fs::File`); lettre (as shipped) and smtplib take the "
               "message as one in-memory buffer (their APIs), shown at 100 MiB for comparison. The file is made "
               "in a temporary directory and deleted after.\n")
    out.append("| client | message | how | peak RSS | time | MB/s | client CPU |")
    out.append("|---|---:|---|---:|---:|---:|---:|")
    for r in runs:
        size = r["bytes"]
        size_s = f"{size / 2**30:.2f} GiB" if size >= 2**30 else (
            f"{size / 2**20:.0f} MiB" if size >= 2**20 else f"{size} B")
        bad = "" if r.get("ok") == 1 else " ⚠ failed"
        name = STREAMED.get(r["client"]) if r["streamed"] else None
        name = name or CLIENTS.get(r["client"], r["client"])
        out.append(f"| {name} | {size_s}{bad} | "
                   f"{'streamed from file' if r['streamed'] else 'in memory'} | "
                   f"{r['max_rss_kib'] / 1024:.1f} MiB | {r['secs']:.2f} s | "
                   f"{r['mb_per_sec']:.0f} | {r['cpu_secs']:.2f} s |")
    small = next((r for r in runs if r["client"] == "ours-blocking" and r["bytes"] <= 4096), None)
    big_size = max((r["bytes"] for r in runs), default=0)
    bigs = [r for r in runs if r["bytes"] == big_size and r["client"].startswith("ours")]
    if small and bigs:
        out.append("")
        out.append(f"Streaming {big_size / 2**30:.2f} GiB: peak RSS "
                   + ", ".join(f"{STREAMED.get(r['client'], r['client'])} "
                               f"{r['max_rss_kib'] / 1024:.1f} MiB" for r in bigs)
                   + f", against {small['max_rss_kib'] / 1024:.1f} MiB for a 1 KiB message: "
                   "flat in every adapter, the body is never held whole.")
    out.append("")


def svg_chart(reply_chart, e2e_chart, path):
    """Two panels of horizontal bars on a log scale: replies/s and messages/s."""
    panels = []
    if reply_chart:
        panels.append(("Reply parsing: replies per second (log scale)",
                       reply_chart, dict(SHAPES), dict(PARSERS)))
    if e2e_chart:
        panels.append(("End to end vs smtp-sink: messages per second (log scale)",
                       [(g, k, v) for g, k, v, _ in e2e_chart],
                       {g: t for g, _, _, t in e2e_chart}, CLIENTS))
    width, label_w, bar_h, gap = 900, 330, 14, 10
    y = 30
    parts = []
    for title, rows, titles, names in panels:
        parts.append(f'<text x="10" y="{y}" font-size="16" font-weight="bold">'
                     f'{html.escape(title)}</text>')
        y += 12
        values = [v for _, _, v in rows if v > 0]
        if not values:
            continue
        lo = 10 ** math.floor(math.log10(min(values)))
        hi = 10 ** math.ceil(math.log10(max(values)))
        span = math.log10(hi) - math.log10(lo)
        plot_w = width - label_w - 90
        # Decade grid.
        top = y
        groups = []
        for g, k, v in rows:
            if not groups or groups[-1][0] != g:
                groups.append((g, []))
            groups[-1][1].append((k, v))
        height = sum(len(items) * (bar_h + 2) + gap + 16 for _, items in groups)
        d = lo
        while d <= hi:
            x = label_w + plot_w * (math.log10(d) - math.log10(lo)) / span
            parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + height}" '
                         'stroke="#ddd"/>')
            parts.append(f'<text x="{x:.1f}" y="{top + height + 12}" font-size="10" '
                         f'text-anchor="middle">{fmt_rate(d).strip()}</text>')
            d *= 10
        for g, items in groups:
            y += 14
            group_title = titles.get(g, g)
            parts.append(f'<text x="10" y="{y}" font-size="12" font-style="italic">'
                         f'{html.escape(group_title.replace("`", ""))}</text>')
            y += 4
            for k, v in items:
                w = plot_w * (math.log10(max(v, lo)) - math.log10(lo)) / span
                name = names.get(k, k).replace("`", "")
                parts.append(f'<text x="{label_w - 6}" y="{y + bar_h - 3}" font-size="11" '
                             f'text-anchor="end">{html.escape(name)}</text>')
                parts.append(f'<rect x="{label_w}" y="{y}" width="{max(w, 1):.1f}" '
                             f'height="{bar_h}" fill="{COLOURS.get(k, "#888")}"/>')
                parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}" '
                             f'font-size="10">{fmt_rate(v).strip()}/s</text>')
                y += bar_h + 2
            y += gap
        y += 40
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y}" '
           f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>'
           + "".join(parts) + "</svg>\n")
    with open(path, "w") as f:
        f.write(svg)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--results", required=True)
    p.add_argument("--md", required=True)
    p.add_argument("--svg", required=True)
    a = p.parse_args()
    m = load(os.path.join(a.results, "machine.json"), {})
    out = ["# Performance", ""]
    out.append(f"All figures below come from one run of `scripts/bench.sh`, started "
               f"{m.get('date', '?')} and finished {m.get('end_date', '?')}"
               f"{' (quick mode: fewer messages)' if m.get('quick') else ''}. "
               "Rerun it to get your own; it rewrites this file and the chart.\n")
    out.append("| machine | |")
    out.append("|---|---|")
    for key, label in [("cpu", "CPU"), ("cpu_detail", "CPU, which"), ("nproc", "cores (nproc)"), ("mem", "memory"),
                       ("kernel", "kernel"), ("rustc", "rustc"), ("python", "Python"),
                       ("peers", "peer versions"), ("load_start", "load average at start"),
                       ("load_end", "load average at end")]:
        out.append(f"| {label} | {m.get(key, '?')} |")
    out.append("")
    out.append("Commands (what `scripts/bench.sh` runs):\n")
    out.append("```sh")
    for c in m.get("commands", []):
        out.append(c)
    out.append("```\n")
    out.append("![Our figures next to the peers'](performance.svg)\n")
    reply_chart = reply_section(a.results, out)
    body_section(a.results, out)
    _, e2e_chart = e2e_section(a.results, out)
    cpu_section(a.results, out)
    cpu_fast_section(a.results, out)
    memory_section(a.results, out)
    tls_section(a.results, out)
    many_section(a.results, out)
    out.append(CPU_NOTES)
    out.append(METHOD_NOTES)
    with open(a.md, "w") as f:
        f.write("\n".join(out).rstrip() + "\n")
    svg_chart(reply_chart, e2e_chart, a.svg)


if __name__ == "__main__":
    main()
