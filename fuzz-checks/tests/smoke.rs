//! A few hundred pseudo-random mutations of each target's seeds, on stable and in a second or
//! two: not fuzzing, but it keeps the checks themselves honest (a check that rejects valid
//! behaviour shows up here before anyone spends fuzzing time on it).

use mailwire_fuzz_checks::replay::run_one;
use mailwire_fuzz_checks::TARGETS;
use std::path::Path;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(data.len() + 1);
        match rng.below(4) {
            0 if at < data.len() => data[at] = rng.next() as u8,
            1 => data.insert(at, rng.next() as u8),
            2 if at < data.len() => {
                data.remove(at);
            }
            _ => {
                let end = (at + rng.below(16)).min(data.len());
                let copy = data[at..end].to_vec();
                let to = rng.below(data.len() + 1);
                data.splice(to..to, copy);
            }
        }
    }
    data
}

#[test]
fn mutated_seeds_pass_every_check() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    // SMOKE_ITERATIONS=100000 for a longer run.
    let n: usize = std::env::var("SMOKE_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    for (name, check) in TARGETS {
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(corpus.join(name))
            .map(|d| {
                d.filter_map(|e| std::fs::read(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        seeds.push(Vec::new());
        seeds.sort();
        for i in 0..n {
            let seed = &seeds[i % seeds.len()];
            let data = mutate(&mut rng, seed);
            if let Err(message) = run_one(check, &data) {
                panic!("{name}: {message}\ninput: {data:?}");
            }
        }
    }
}
