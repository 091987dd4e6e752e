//! Parses arbitrary bytes as a model container and, when its buffers are small enough,
//! runs one inference on a fixed input. Nothing may panic; a bad graph must be an error.

#![no_main]

use decoder_core::Model;
use hyperc_fuzz::with_valid_header;
use libfuzzer_sys::fuzz_target;

/// Largest arena, scratch buffer, input or output run, in f32 elements (1 MiB each), so
/// that one execution stays fast and a declared size cannot exhaust memory.
const MAX_ELEMENTS: usize = 256 * 1024;

fuzz_target!(|data: &[u8]| {
    infer(data);
    infer(&with_valid_header(data));
});

fn infer(bytes: &[u8]) {
    let Ok(model) = Model::parse(bytes) else {
        return;
    };
    let (Ok(input_len), Ok(output_len)) = (model.input_len(), model.output_len()) else {
        return;
    };
    let sizes = [model.arena_len(), model.scratch_len(), input_len, output_len];
    if sizes.iter().any(|&size| size > MAX_ELEMENTS) {
        return;
    }

    // A fixed input with both signs and a range of magnitudes.
    let input: Vec<f32> = (0..input_len).map(|i| ((i % 17) as f32 - 8.0) * 0.125).collect();
    let mut arena = vec![0.0f32; model.arena_len()];
    let mut scratch = vec![0.0f32; model.scratch_len()];
    let mut output = vec![0.0f32; output_len];
    let result = model.run(&input, &mut arena, &mut scratch, &mut output);

    // Buffers one element short must be rejected, never indexed past their end.
    if result.is_ok() && model.arena_len() > 0 {
        let mut short_arena = vec![0.0f32; model.arena_len() - 1];
        assert!(model.run(&input, &mut short_arena, &mut scratch, &mut output).is_err(), "short arena accepted");
    }
    if result.is_ok() && model.scratch_len() > 0 {
        let mut short_scratch = vec![0.0f32; model.scratch_len() - 1];
        assert!(model.run(&input, &mut arena, &mut short_scratch, &mut output).is_err(), "short scratch accepted");
    }
}
