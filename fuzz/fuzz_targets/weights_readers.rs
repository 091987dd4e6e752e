//! Reads arbitrary bytes as an `.npz` archive, a `.npy` array and a safetensors file.
//! Nothing may panic, and every tensor read must fill its shape exactly.

#![no_main]

use std::path::Path;

use hyperc::io::{read_npy_bytes, read_npz_bytes, read_safetensors_bytes, IoError, NamedTensor};
use hyperc_fuzz::element_count;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check(read_npz_bytes(data, Path::new("fuzz.npz")));
    check(read_npy_bytes(data, Path::new("fuzz.npy")).map(|tensor| vec![tensor]));
    check(read_safetensors_bytes(data, Path::new("fuzz.safetensors")));
});

fn check(result: Result<Vec<NamedTensor>, IoError>) {
    let Ok(tensors) = result else {
        return;
    };
    for tensor in &tensors {
        assert_eq!(Some(tensor.data.len()), element_count(&tensor.shape), "tensor '{}' fills its shape", tensor.name);
    }
}
