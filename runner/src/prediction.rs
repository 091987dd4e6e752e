//! The prediction the report shows for each row: the class a classifier picked, or how
//! far an autoencoder's output lies from its input.

/// The summary of one row's outputs in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prediction {
    /// The index of the largest output: the class of a classifier.
    Class,
    /// The mean squared difference between the row's input and its output, which MLPerf
    /// Tiny's anomaly-detection benchmark uses as the anomaly score of an autoencoder.
    ReconstructionError,
}

impl Prediction {
    /// Chooses by the model's shape: a model whose output has as many values as its input
    /// reconstructs it; any other is read as a classifier.
    pub fn for_model(input_len: usize, output_len: usize) -> Self {
        if input_len > 1 && input_len == output_len {
            Prediction::ReconstructionError
        } else {
            Prediction::Class
        }
    }
}

/// Returns the mean of `(input − output)²` over the values, in f64; 0 for empty rows.
/// The rows must have the same length.
pub fn reconstruction_error(input: &[f32], output: &[f32]) -> f64 {
    debug_assert_eq!(input.len(), output.len(), "an autoencoder's output has its input's length");
    if input.is_empty() {
        return 0.0;
    }
    let sum: f64 = input.iter().zip(output).map(|(&i, &o)| (f64::from(i) - f64::from(o)).powi(2)).sum();
    sum / input.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_decides_the_prediction() {
        assert_eq!(Prediction::for_model(640, 640), Prediction::ReconstructionError);
        assert_eq!(Prediction::for_model(64, 10), Prediction::Class);
        assert_eq!(Prediction::for_model(1, 1), Prediction::Class);
    }

    #[test]
    fn reconstruction_error_is_mean_squared_difference() {
        // Differences 1, −2, 0 and 3: squares sum to 14 over 4 values.
        let error = reconstruction_error(&[1.0, 0.0, 5.0, -1.0], &[0.0, 2.0, 5.0, -4.0]);
        assert_eq!(error, 3.5);
        assert_eq!(reconstruction_error(&[0.25; 8], &[0.25; 8]), 0.0);
        assert_eq!(reconstruction_error(&[], &[]), 0.0);
    }
}
