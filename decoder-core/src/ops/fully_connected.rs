//! Fully connected (dense) layer.

use super::{check_bias, check_buffer, element_mut, invalid, weight_row};
use super::{Activation, WeightRows};
use crate::Error;

const OP: &str = "fully_connected";

/// Computes `output = activation(weights · input + bias)` for a batch of input vectors.
///
/// `weights` has one row per output and `row_len` values per row, one per input.
/// `input` contains `k ≥ 1` vectors of `row_len` values back to back, and `output` receives
/// `k × rows` values laid out `[batch][output]`. `bias`, when present, has `rows` values.
///
/// The operator decodes each row once into `scratch`, which must hold at least `row_len`
/// values, and applies it to every batch. Each output starts at its bias (or `0.0`) and
/// adds the products in input order. The activation is applied last.
///
/// Fails with [`Error::InvalidOperator`] when the weights have no rows or empty rows,
/// `input` is empty or not a multiple of `row_len`, or the bias length differs from
/// `rows`, and with [`Error::BufferLength`] when `output` or `scratch` has the wrong
/// length. Errors from [`WeightRows::decode_row`] are passed on.
pub fn fully_connected(
    input: &[f32],
    weights: &impl WeightRows,
    bias: Option<&[f32]>,
    activation: Activation,
    output: &mut [f32],
    scratch: &mut [f32],
) -> Result<(), Error> {
    let too_large = invalid(OP, "the weights have more values than usize can count");
    let outputs = usize::try_from(weights.rows()).map_err(|_| too_large)?;
    let row_len = usize::try_from(weights.row_len()).map_err(|_| too_large)?;
    if outputs == 0 || row_len == 0 {
        return Err(invalid(OP, "weights must have at least one row and one value per row"));
    }
    if input.is_empty() || !input.len().is_multiple_of(row_len) {
        return Err(invalid(OP, "input length must be a non-zero multiple of the weight row length"));
    }
    let batches = input.len() / row_len;
    check_bias(OP, bias, outputs)?;
    check_buffer(output.len(), batches.checked_mul(outputs).ok_or(too_large)?)?;
    let row = weight_row(scratch, row_len)?;

    for (index, row_number) in (0..weights.rows()).enumerate() {
        weights.decode_row(row_number, row)?;
        let start = bias.and_then(|bias| bias.get(index)).copied().unwrap_or(0.0);
        for (vector, batch_output) in input.chunks_exact(row_len).zip(output.chunks_exact_mut(outputs)) {
            let mut acc = start;
            for (&x, &w) in vector.iter().zip(row.iter()) {
                acc += x * w;
            }
            *element_mut(batch_output, index)? = activation.apply(acc);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{activate, assert_close, Lcg};
    use crate::ops::DenseRows;

    fn reference(
        input: &[f32],
        weights: &[f32],
        outputs: usize,
        bias: Option<&[f32]>,
        activation: Activation,
    ) -> (Vec<f64>, Vec<f64>) {
        let inputs = weights.len() / outputs;
        let mut values = Vec::new();
        let mut magnitudes = Vec::new();
        for batch in 0..input.len() / inputs {
            for o in 0..outputs {
                let b = bias.map_or(0.0, |b| f64::from(b[o]));
                let mut sum = b;
                let mut magnitude = b.abs();
                for i in 0..inputs {
                    let product = f64::from(input[batch * inputs + i]) * f64::from(weights[o * inputs + i]);
                    sum += product;
                    magnitude += product.abs();
                }
                values.push(activate(activation, sum));
                magnitudes.push(magnitude);
            }
        }
        (values, magnitudes)
    }

    #[test]
    fn fully_connected_matches_reference() {
        let mut rng = Lcg::new(5);
        for (inputs, outputs, batches) in [(1, 1, 1), (7, 3, 1), (64, 12, 1), (10, 4, 2), (33, 5, 3)] {
            let input: Vec<f32> = rng.vec(inputs * batches).iter().map(|x| x * 4.0).collect();
            let weights = rng.vec(inputs * outputs);
            let bias = rng.vec(outputs);
            for activation in [Activation::None, Activation::Relu, Activation::Relu6] {
                for bias in [None, Some(bias.as_slice())] {
                    let mut output = vec![f32::NAN; batches * outputs];
                    let mut scratch = vec![0.0; inputs + 1];
                    fully_connected(
                        &input,
                        &DenseRows { data: &weights, rows: outputs as u32 },
                        bias,
                        activation,
                        &mut output,
                        &mut scratch,
                    )
                    .unwrap();
                    let (expected, magnitude) = reference(&input, &weights, outputs, bias, activation);
                    let label = format!("{inputs} → {outputs} × {batches} batches, {activation:?}");
                    assert_close(&output, &expected, &magnitude, &label);
                }
            }
        }
    }

    #[test]
    fn batches_equal_separate_calls() {
        // Two batches in one call give bit-identical results to two single-batch calls.
        let mut rng = Lcg::new(9);
        let input = rng.vec(2 * 20);
        let weights_data = rng.vec(20 * 6);
        let bias = rng.vec(6);
        let weights = DenseRows { data: &weights_data, rows: 6 };
        let mut scratch = [0.0; 20];
        let mut both = [0.0; 12];
        fully_connected(&input, &weights, Some(&bias), Activation::None, &mut both, &mut scratch).unwrap();
        for batch in 0..2 {
            let mut single = [0.0; 6];
            let vector = &input[batch * 20..][..20];
            fully_connected(vector, &weights, Some(&bias), Activation::None, &mut single, &mut scratch).unwrap();
            assert_eq!(&both[batch * 6..][..6], single.as_slice(), "batch {batch}");
        }
    }

    #[test]
    fn bad_arguments_fail() {
        let data = [0.5f32; 12];
        let weights = DenseRows { data: &data, rows: 3 };
        let input = [1.0f32; 8];
        let bias = [0.0f32; 3];
        let run = |input: &[f32], weights: &DenseRows<'_>, bias: &[f32], output_len: usize, scratch_len: usize| {
            let mut output = vec![0.0; output_len];
            let mut scratch = vec![0.0; scratch_len];
            fully_connected(input, weights, Some(bias), Activation::None, &mut output, &mut scratch)
        };
        assert_eq!(run(&input, &weights, &bias, 6, 4), Ok(()));

        let invalid_operator = |result: Result<(), Error>| matches!(result, Err(Error::InvalidOperator { .. }));
        let buffer_length = |result: Result<(), Error>| matches!(result, Err(Error::BufferLength { .. }));
        assert!(invalid_operator(run(&input[..7], &weights, &bias, 6, 4)), "input not a multiple");
        assert!(invalid_operator(run(&[], &weights, &bias, 0, 4)), "empty input");
        assert!(buffer_length(run(&input, &weights, &bias, 5, 4)), "short output");
        assert!(buffer_length(run(&input, &weights, &bias, 3, 4)), "output for one batch");
        assert!(buffer_length(run(&input, &weights, &bias, 6, 3)), "small scratch");
        assert!(invalid_operator(run(&input, &weights, &bias[..2], 6, 4)), "short bias");
        let no_rows = DenseRows { data: &data, rows: 0 };
        assert!(invalid_operator(run(&input, &no_rows, &[], 0, 4)), "no rows");
        let empty_rows = DenseRows { data: &[], rows: 3 };
        assert!(invalid_operator(run(&input, &empty_rows, &bias, 6, 4)), "empty rows");
        let ragged = DenseRows { data: &data[..11], rows: 3 };
        assert!(matches!(run(&[1.0; 3], &ragged, &bias, 3, 4), Err(Error::LengthMismatch { .. })), "ragged weights");
    }

    #[test]
    fn random_lengths_never_panic() {
        // Every combination of lengths around the valid ones: Ok exactly when consistent.
        let data = [0.25f32; 12];
        for rows in 0..5u32 {
            let weights = DenseRows { data: &data, rows };
            let row_len = if rows == 0 { 0 } else { 12 / rows as usize };
            for input_len in 0..14 {
                for output_len in 0..14 {
                    for scratch_len in 0..6 {
                        for bias_len in 0..5 {
                            let input = vec![1.0; input_len];
                            let bias = vec![0.0; bias_len];
                            let mut output = vec![0.0; output_len];
                            let mut scratch = vec![0.0; scratch_len];
                            let result = fully_connected(
                                &input,
                                &weights,
                                Some(&bias),
                                Activation::Relu,
                                &mut output,
                                &mut scratch,
                            );
                            let consistent = rows > 0
                                && row_len * rows as usize == data.len()
                                && input_len > 0
                                && input_len.is_multiple_of(row_len)
                                && output_len == input_len / row_len * rows as usize
                                && scratch_len >= row_len
                                && bias_len == rows as usize;
                            assert_eq!(
                                result.is_ok(),
                                consistent,
                                "rows {rows}, input {input_len}, output {output_len}, scratch {scratch_len}, bias {bias_len}: {result:?}"
                            );
                            if consistent {
                                let expected = 0.25 * row_len as f32;
                                assert!(output.iter().all(|&y| y == expected), "rows {rows}, input {input_len}");
                            }
                        }
                    }
                }
            }
        }
    }
}
