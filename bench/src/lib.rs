//! Host benchmarks of hyperc: compression quality of hyperc and of the usual
//! alternatives on the MLPerf Tiny float models, measured against the Shannon lower
//! bound and on the models' real inputs, the bits entropy-coded indices would take, and
//! encoder speed and memory.

pub mod baselines;
pub mod entropy;
pub mod machine;
pub mod paper;
pub mod plots;
pub mod quality;
pub mod rng;
pub mod shannon;
pub mod speed;
pub mod svg;
