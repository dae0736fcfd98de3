//! A counting global allocator for the allocation tests (each test binary that declares
//! `mod counting_alloc;` installs its own). Only the thread that switches counting on is
//! counted, so the test harness's own allocations do not interfere.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static SEEN: Cell<u64> = const { Cell::new(0) };
}

/// Counts allocations (and reallocations) made on a thread while its counting is on.
struct CountingAllocator;

fn count_one() {
    // `try_with`: a thread's locals may already be gone while it exits.
    let _ = ON.try_with(|on| {
        if on.get() {
            let _ = SEEN.try_with(|seen| seen.set(seen.get() + 1));
        }
    });
}

// SAFETY: each method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; counting only touches const-initialised thread-locals (no allocation).
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `f` and returns it with the number of allocations it made on this thread.
pub fn counting<T>(f: impl FnOnce() -> T) -> (T, u64) {
    SEEN.with(|seen| seen.set(0));
    ON.with(|on| on.set(true));
    let value = f();
    ON.with(|on| on.set(false));
    (value, SEEN.with(Cell::get))
}
