//! Reference outputs of the original TFLite model, computed with tract.
//!
//! tract (tract-tflite 0.23) parses and runs float TFLite models independently of this
//! crate's importer, so its outputs check the importer and everything built on it.
//! tract cannot translate hybrid models (int8 weights with float activations), such as the
//! MLPerf Tiny keyword-spotting model: for those the functions here return
//! [`ReferenceError::HybridModel`], and a copy of the model with dequantised weights can
//! serve as the reference instead.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use thiserror::Error;
use tract_tflite::prelude::*;

/// Failure to load or run a model in the reference runtime.
#[derive(Debug, Error)]
pub enum ReferenceError {
    /// The model file does not exist.
    #[error("{}: file not found; check the path", path.display())]
    NotFound { path: PathBuf },

    /// The model file exists but could not be read.
    #[error("{}: cannot read the file: {source}; check that it is a readable file", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The model is hybrid: tract cannot run int8 weights with float activations.
    #[error(
        "{}: tensor #{tensor} '{name}' is an int8 weight of a float operator (a hybrid model), \
         which tract cannot run; use a copy of the model with dequantised weights as the reference",
        path.display()
    )]
    HybridModel { path: PathBuf, tensor: usize, name: String },

    /// tract failed to parse, translate, optimise or plan the model.
    #[error("{}: tract cannot load the model: {message}; check that it is a float TFLite model", path.display())]
    Load { path: PathBuf, message: String },

    /// The model does not have exactly one f32 input of fixed shape.
    #[error("{}: {reason}; the reference runtime runs models with one float32 input of fixed shape", path.display())]
    UnsupportedInput { path: PathBuf, reason: String },

    /// The caller's input shape differs from the model's.
    #[error("{}: the input shape {actual:?} differs from the model's input shape {expected:?} (batch 1)", path.display())]
    InputShape { path: PathBuf, expected: Vec<usize>, actual: Vec<usize> },

    /// The caller's input has the wrong number of values.
    #[error("{}: the input has {actual} values but the model's input shape {shape:?} needs {expected}", path.display())]
    InputLength { path: PathBuf, shape: Vec<usize>, expected: usize, actual: usize },

    /// tract failed while running the model.
    #[error("{}: tract failed to run the model: {message}", path.display())]
    Run { path: PathBuf, message: String },
}

/// Runs the original TFLite model with tract on one input (batch 1) and returns every
/// output, flattened in row-major order.
///
/// `input_shape` must equal the model's input shape with batch 1, e.g. `[1, 32, 32, 3]`.
pub fn run_tract(path: &Path, input: &[f32], input_shape: &[usize]) -> Result<Vec<Vec<f32>>, ReferenceError> {
    let model = ReferenceModel::load(path)?;
    if model.input_shape() != input_shape {
        return Err(ReferenceError::InputShape {
            path: path.to_path_buf(),
            expected: model.input_shape().to_vec(),
            actual: input_shape.to_vec(),
        });
    }
    model.run(input)
}

/// A loaded, optimised tract plan for repeated runs on inputs of one shape.
#[derive(Debug)]
pub struct ReferenceModel {
    path: PathBuf,
    plan: Arc<TypedRunnableModel>,
    input_shape: Vec<usize>,
}

impl ReferenceModel {
    /// Loads a `.tflite` file with tract, fixes its input to batch 1 and optimises it.
    pub fn load(path: &Path) -> Result<Self, ReferenceError> {
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ReferenceError::NotFound { path: path.to_path_buf() },
            _ => ReferenceError::Read { path: path.to_path_buf(), source },
        })?;
        if let Some((tensor, name)) = crate::tflite::hybrid_weight(&bytes) {
            return Err(ReferenceError::HybridModel { path: path.to_path_buf(), tensor, name });
        }

        // NOTE: tract can panic on malformed files (e.g. `unimplemented!` for some tensor
        // types in tract-tflite 0.23.9), so a panic is turned into an error here.
        let loaded = catch_unwind(AssertUnwindSafe(|| load_plan(&bytes)));
        let (plan, input_shape) = match loaded {
            Ok(result) => result.map_err(|failure| match failure {
                PlanFailure::Input(reason) => ReferenceError::UnsupportedInput { path: path.to_path_buf(), reason },
                PlanFailure::Tract(error) => {
                    ReferenceError::Load { path: path.to_path_buf(), message: format!("{error:#}") }
                }
            })?,
            Err(panic) => {
                return Err(ReferenceError::Load {
                    path: path.to_path_buf(),
                    message: format!("tract panicked: {}", panic_message(panic.as_ref())),
                })
            }
        };
        Ok(ReferenceModel { path: path.to_path_buf(), plan, input_shape })
    }

    /// Returns the input shape the plan runs on, with batch 1.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Runs the model on one input, given as row-major f32 values of [`Self::input_shape`],
    /// and returns every output flattened in row-major order.
    pub fn run(&self, input: &[f32]) -> Result<Vec<Vec<f32>>, ReferenceError> {
        let expected: usize = self.input_shape.iter().product();
        if input.len() != expected {
            return Err(ReferenceError::InputLength {
                path: self.path.clone(),
                shape: self.input_shape.clone(),
                expected,
                actual: input.len(),
            });
        }
        let run_error =
            |error: TractError| ReferenceError::Run { path: self.path.clone(), message: format!("{error:#}") };

        let tensor = Tensor::from_shape::<f32>(&self.input_shape, input).map_err(run_error)?;
        let outputs = self.plan.run(tvec!(tensor.into_tvalue())).map_err(run_error)?;
        outputs
            .iter()
            .map(|output| {
                let output = output.cast_to::<f32>()?;
                Ok(output.to_plain_array_view::<f32>()?.iter().copied().collect())
            })
            .collect::<TractResult<Vec<Vec<f32>>>>()
            .map_err(run_error)
    }
}

enum PlanFailure {
    Input(String),
    Tract(TractError),
}

impl From<TractError> for PlanFailure {
    fn from(error: TractError) -> Self {
        PlanFailure::Tract(error)
    }
}

/// Parses the model with tract, pins its single f32 input to batch 1 and builds the plan.
fn load_plan(bytes: &[u8]) -> Result<(Arc<TypedRunnableModel>, Vec<usize>), PlanFailure> {
    let mut model = tract_tflite::tflite().model_for_read(&mut &bytes[..])?;

    let inputs = model.input_outlets()?.len();
    if inputs != 1 {
        return Err(PlanFailure::Input(format!("the model has {inputs} inputs")));
    }
    let fact = model.input_fact(0)?.clone();
    if fact.datum_type != f32::datum_type() {
        return Err(PlanFailure::Input(format!("the input has type {:?}", fact.datum_type)));
    }
    let mut shape = match fact.shape.as_concrete() {
        Some(shape) => shape.to_vec(),
        None => return Err(PlanFailure::Input(format!("the input shape {:?} is not fixed", fact.shape))),
    };
    if let Some(batch) = shape.first_mut() {
        *batch = 1;
    }
    model.set_input_fact(0, f32::fact(shape.as_slice()))?;

    let plan = model.into_optimized()?.into_runnable()?;
    Ok((plan, shape))
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        message.to_string()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "no message".to_string()
    }
}
