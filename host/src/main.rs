//! The `plangate` binary: a thin shell over the library.

fn main() -> std::process::ExitCode {
    plangate::main()
}
