//! Hyper-Compression encoder.
