//! Helpers shared by the runner's integration tests.

use std::process::Command;

/// Returns true when qemu-system-arm runs. Without it `test` prints `SKIPPED` and should
/// return, unless `HYPERC_REQUIRE_QEMU=1` (set by `make test` and CI), which makes its
/// absence a failure.
pub fn have_qemu(test: &str) -> bool {
    let found = Command::new("qemu-system-arm").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("HYPERC_REQUIRE_QEMU").as_deref() != Ok("1"),
            "{test}: QEMU is required (HYPERC_REQUIRE_QEMU=1) but qemu-system-arm is missing; run `make setup`"
        );
        eprintln!("SKIPPED: {test}: qemu-system-arm not found (`make setup` installs it)");
    }
    found
}
