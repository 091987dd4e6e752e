//! The `hyperc` subcommands, as library functions that the binary calls and the tests
//! drive directly.

pub mod compare;
pub mod decode;
pub mod encode;
pub mod inspect;
pub mod run;
