//! README.md stays true: every key binding and command in the code is documented there, and it
//! carries the two commands a newcomer needs.

use gameday::app::command::USAGE;
use gameday::app::keymap::BINDINGS;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

#[test]
fn every_binding_is_documented_with_its_keys_and_description() {
    let md = readme();
    let keys = &md[md.find("## Keys").unwrap()..md.find("## Commands").unwrap()];
    for b in BINDINGS {
        for k in b.keys {
            assert!(
                keys.contains(&format!("`{}`", k.label())),
                "README's Keys lack `{}` ({})",
                k.label(),
                b.description
            );
        }
        assert!(keys.contains(b.description), "README's Keys lack {:?}", b.description);
    }
}

#[test]
fn every_command_is_documented() {
    let md = readme();
    for usage in USAGE.split(" · ") {
        let word = usage.split_whitespace().next().unwrap();
        assert!(md.contains(&format!("`{word}")), "README lacks {word}");
    }
}

#[test]
fn the_two_commands_a_newcomer_needs() {
    let md = readme();
    assert!(md.contains("cargo run --release -- --demo"));
    assert!(md.contains("cargo test"));
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    assert!(ci.contains("cargo test -- --include-ignored"));
}
