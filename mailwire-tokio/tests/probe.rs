//! `probe()` against the scripted servers of `mailwire_testkit::probes`, the same table
//! `mailwire-blocking` runs: each stop point says QUIT where it was asked to (or, for the
//! connection alone, says nothing), and the report holds what was learnt.

mod support;

use mailwire_testkit::probes::run_probe_table;
use mailwire_tokio::probe;
use std::time::Duration;
use support::*;

#[test]
fn probe_cases_agree_with_the_shared_table() {
    let rt = runtime();
    run_probe_table(|port, until| {
        rt.block_on(probe(options(port, Duration::from_secs(10)), until))
    });
}
