//! trybuild: programs that must compile and run cleanly (`pass/`), and misuse that must fail
//! with one clear error (`fail/`, with `.stderr` snapshots; regenerate with
//! `TRYBUILD=overwrite cargo test -p allstak-ui-tests` when the toolchain's wording changes).

#[test]
fn pass() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/pass/*.rs");
}

#[test]
fn fail() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/fail/*.rs");
}
