//! `probe()` against the scripted servers of `mailwire_testkit::probes`: each stop point says
//! QUIT where it was asked to (or, for the connection alone, says nothing), and the report holds
//! what was learnt. `mailwire-tokio` runs the same table.

mod support;

use mailwire_blocking::probe;
use mailwire_testkit::probes::run_probe_table;
use std::time::Duration;
use support::*;

#[test]
fn probe_cases_agree_with_the_shared_table() {
    run_probe_table(|port, until| probe(options(port, Duration::from_secs(10)), until));
}
