#![deny(warnings)]
#![deny(clippy::pedantic)]
//! An `#[async_trait]` method under `#[allstak::track]` allocates what it allocates without the
//! attribute: its one box, not a second one around it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: `System`'s, counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as the caller promised `alloc`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller promised `dealloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Debug)]
struct Failed;

#[async_trait::async_trait]
trait Store {
    async fn tracked(&self, n: u8) -> Result<u8, Failed>;
    async fn untracked(&self, n: u8) -> Result<u8, Failed>;
}

struct Memory;

#[async_trait::async_trait]
impl Store for Memory {
    #[allstak::track]
    async fn tracked(&self, n: u8) -> Result<u8, Failed> {
        if n == 0 { Err(Failed) } else { Ok(n) }
    }

    async fn untracked(&self, n: u8) -> Result<u8, Failed> {
        if n == 0 { Err(Failed) } else { Ok(n) }
    }
}

fn allocations(call: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    call();
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

fn main() {
    let store = Memory;
    let untracked = allocations(|| drop(store.untracked(1)));
    let tracked = allocations(|| drop(store.tracked(1)));
    assert_eq!(untracked, 1, "async_trait's box");
    assert_eq!(tracked, untracked, "no second box");
}
