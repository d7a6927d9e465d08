//! libdeflate, through its C API: one gzip member at a time into a buffer sized
//! from the gzip ISIZE trailer. Twice as fast here as zlib-rs through flate2
//! (`make inflate-backends`: ~1,400 against ~650 MB/s). libdeflater's safe wrapper
//! does not say where a member ends, which a payload of several concatenated
//! members needs, hence the C call, the crate's only `unsafe`.

use std::ptr::NonNull;

use libdeflate_sys as sys;

pub(super) struct Decompressor(NonNull<sys::libdeflate_decompressor>);

pub(super) enum Member {
    /// The member was `consumed` bytes long; its bytes are now at the end of `out`.
    Inflated { consumed: usize },
    /// It does not fit in the buffer, or is not valid gzip: flate2 streams it and says why.
    NotHere,
}

impl Decompressor {
    /// None if libdeflate cannot allocate its state (then flate2 does the work).
    pub(super) fn new() -> Option<Self> {
        // SAFETY: no arguments; a null return (out of memory) is checked by NonNull.
        NonNull::new(unsafe { sys::libdeflate_alloc_decompressor() }).map(Self)
    }

    /// Inflates the gzip member at the start of `input` onto the end of `out`, in at
    /// most `room` bytes. Written into the vector's spare capacity: no pass to zero it first.
    pub(super) fn member(&mut self, input: &[u8], out: &mut Vec<u8>, room: usize) -> Member {
        out.reserve_exact(room);
        let spare = &mut out.spare_capacity_mut()[..room];
        let (mut consumed, mut written) = (0usize, 0usize);
        // SAFETY: `input` and `spare` are live buffers passed with their lengths;
        // libdeflate reads at most `input.len()` bytes, writes at most `room` bytes
        // into `spare` (uninitialised memory may be written) and the two counts, and
        // keeps no pointer after returning. `&mut self` makes the decompressor ours
        // alone for the call.
        let result = unsafe {
            sys::libdeflate_gzip_decompress_ex(
                self.0.as_ptr(),
                input.as_ptr().cast(),
                input.len(),
                spare.as_mut_ptr().cast(),
                room,
                &mut consumed,
                &mut written,
            )
        };
        if result != sys::libdeflate_result_LIBDEFLATE_SUCCESS
            || !(1..=input.len()).contains(&consumed)
            || written > room
        {
            return Member::NotHere;
        }
        // SAFETY: on success libdeflate has written the member's `written` bytes at
        // the start of the spare capacity (`written <= room`, checked above).
        unsafe { out.set_len(out.len() + written) };
        Member::Inflated { consumed }
    }
}

impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: allocated by libdeflate_alloc_decompressor, freed once, here.
        unsafe { sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}
