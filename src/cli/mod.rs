//! The command line: its definition, and what each command does.
