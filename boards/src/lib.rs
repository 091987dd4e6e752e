//! Board descriptions.
#![no_std]
