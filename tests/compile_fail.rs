//! Compile-fail proofs: handles of a payload that is not `Send` cannot move
//! to another thread, and an spsc receiver cannot be shared between threads.

#[test]
fn handles_of_non_send_payloads_are_not_send() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
