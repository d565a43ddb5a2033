//! The `chronorag` command line: serve, ingest, query, history, governance and maintenance.
//! Each subcommand parses its flags, calls one [`chronorag::Engine`] method and prints the result
//! (readable by default, JSON with `--json`). User mistakes print a message to stderr and exit
//! with a non-zero code; they never panic.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
