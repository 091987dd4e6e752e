//! The entropy harness on a real model: the rates must come in the order theory gives,
//! and the indices it counts must be the ones the decoder reads.

use decoder_core::codebook::{Codebook, Group};
use decoder_core::Container;
use hyperc::codec::{Mode, Storage};
use hyperc::container::to_bytes;
use hyperc::model::lower::Role;
use hyperc_bench::entropy::{indices, measure};

const KWS: &str = "kws_ref_model_float32.tflite";

#[test]
fn kws_rates_are_ordered() {
    let Some(path) = hyperc::require_model_file("kws_rates_are_ordered", KWS) else {
        return;
    };
    let row = measure(&path, "kws_ref_model_float32", 4).unwrap();
    assert!(row.entropy < row.fixed, "entropy {} not below fixed width {}", row.entropy, row.fixed);
    assert!(row.adaptive >= row.entropy, "adaptive {} below entropy {}", row.adaptive, row.entropy);
    assert!(row.bound > 0.0, "bound {}", row.bound);
    assert!(row.bound < row.entropy, "bound {} above entropy {}", row.bound, row.entropy);
    assert!(row.rel_mse > 0.0, "rel. MSE {}", row.rel_mse);
    assert!(row.rel_mse < 0.1, "rel. MSE {}", row.rel_mse);
}

#[test]
fn kws_indices_rebuild_the_weights() {
    // The indices the harness counts, looked up in each group's codebook, must give the
    // weights the decoder produces.
    let Some(path) = hyperc::require_model_file("kws_indices_rebuild_the_weights", KWS) else {
        return;
    };
    let encoded = hyperc::model::encode_tflite(&path, Mode::Bits(4)).unwrap();
    let bytes = to_bytes(&encoded.encoded, &encoded.lowered.graph);
    let container = Container::parse(&bytes).unwrap();
    let mut checked = 0;
    for (id, (constant, tensor)) in encoded.constants.iter().zip(&encoded.encoded).enumerate() {
        let (Role::Weights, Storage::Hyper(hyper)) = (constant.role, &tensor.storage) else {
            continue;
        };
        let mut decoded = vec![0.0f32; constant.data.len()];
        container.tensor(id as u32).unwrap().decode_f32(&mut decoded).unwrap();
        let book = Codebook { trajectory: hyper.trajectory, inner: hyper.inner, rings: hyper.rings };
        let row_len = hyper.row_len as usize;
        let pairs_per_row = row_len.div_ceil(2);
        for (i, &index) in indices(hyper).unwrap().iter().enumerate() {
            let (row, pair) = (i / pairs_per_row, i % pairs_per_row);
            let first = row / hyper.group_rows as usize * book.group_len();
            let group = Group::parse(&hyper.groups[first..first + book.group_len()], hyper.rings).unwrap();
            let q = book.reconstruct(&group, index).unwrap();
            let start = row * row_len + 2 * pair;
            assert_eq!(decoded[start], q[0] as f32 * hyper.scale, "tensor {id}, pair {i}, first value");
            if 2 * pair + 1 < row_len {
                assert_eq!(decoded[start + 1], q[1] as f32 * hyper.scale, "tensor {id}, pair {i}, second value");
            }
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} pairs checked");
}
