//! The wasm build's allocator: power-of-two size classes, a free list per class, and a
//! bump pointer for fresh memory. Every operation is O(1); `realloc` within a class
//! returns the same block (a string that grows from 40 to 60 bytes is not copied).
//!
//! Memory freed into a class is reused by that class only and never returned to the
//! browser; the adapter's working set is small and steady, so the waste is bounded by
//! its peak (at most twice each live block).

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32::{memory_grow, memory_size};
use core::cell::UnsafeCell;

const PAGE: usize = 65536;
/// The smallest block: room for the free list's link and 16-byte alignment.
const MIN_CLASS: u32 = 4;

struct Heap {
    /// Head of the free list of each class (a block's first word links to the next).
    free: [usize; 32],
    /// Next fresh byte, and the end of the memory the heap has.
    bump: usize,
    end: usize,
}

pub struct SizeClasses(UnsafeCell<Heap>);

// One thread: the adapter runs on a page's main thread (no wasm threads).
unsafe impl Sync for SizeClasses {}

impl SizeClasses {
    pub const fn new() -> SizeClasses {
        SizeClasses(UnsafeCell::new(Heap { free: [0; 32], bump: 0, end: 0 }))
    }
}

/// The class of a layout: blocks of `1 << class` bytes, aligned to their size up to a page.
fn class(layout: &Layout) -> u32 {
    let size = layout.size().max(layout.align()).max(1 << MIN_CLASS);
    usize::BITS - (size - 1).leading_zeros()
}

unsafe impl GlobalAlloc for SizeClasses {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let h = &mut *self.0.get();
        let c = class(&layout);
        let head = h.free[c as usize];
        if head != 0 {
            h.free[c as usize] = *(head as *const usize);
            return head as *mut u8;
        }
        let size = 1usize << c;
        if h.end == 0 {
            h.bump = memory_size(0) * PAGE;
            h.end = h.bump;
        }
        let align = size.min(PAGE);
        let start = (h.bump + align - 1) & !(align - 1);
        if start + size > h.end {
            let pages = (start + size - h.end).div_ceil(PAGE);
            if memory_grow(0, pages) == usize::MAX {
                return core::ptr::null_mut();
            }
            h.end += pages * PAGE;
        }
        h.bump = start + size;
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let h = &mut *self.0.get();
        let c = class(&layout) as usize;
        *(ptr as *mut usize) = h.free[c];
        h.free[c] = ptr as usize;
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = Layout::from_size_align_unchecked(new_size, layout.align());
        if class(&new) == class(&layout) {
            return ptr;
        }
        let p = self.alloc(new);
        if !p.is_null() {
            core::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        p
    }
}

#[global_allocator]
static ALLOC: SizeClasses = SizeClasses::new();

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
