//! The parameter form between the picker and the confirmation: each value with its default,
//! bounds and help; a refused value is said in place and stops the form; the blast radius is
//! made again at every change; Enter arms exactly the values shown.

mod common;

use common::Harness;
use gameday::app::fault::FaultPhase;
use gameday::app::keymap::Context;
use gameday::app::state::{Level, Overlay};
use gameday::app::Event;
use gameday::model::Mode;
use gameday::model::ParamValue;
use ratatui::crossterm::event::KeyCode;

/// The form of network-latency on sock-shop/carts (picked from the tree, as a person would).
fn latency_form() -> Harness {
    let mut h = Harness::demo();
    h.key(KeyCode::Down); // sock-shop -> carts
    h.key(KeyCode::Enter); // the picker, for carts
    h.pick("network-latency");
    assert_eq!(h.s.context(), Context::Form, "{:?}", h.s.book.status);
    h
}

fn form(h: &Harness) -> &gameday::app::form::ParamForm {
    match &h.s.ui.overlay {
        Overlay::Form(f) => f,
        other => panic!("no form: {other:?}"),
    }
}

fn field<'a>(h: &'a Harness, name: &str) -> &'a gameday::app::form::Field {
    form(h).fields.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no field {name}"))
}

fn blast(h: &Harness) -> String {
    form(h).plan.as_ref().map(|p| p.blast_radius.clone()).unwrap_or_default()
}

#[test]
fn the_form_lists_each_value_with_its_default_bounds_and_help() {
    let h = latency_form();
    let names: Vec<&str> = form(&h).fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["jitter_ms", "latency_ms", "duration", "mode"]);
    let latency = field(&h, "latency_ms");
    assert_eq!(latency.value, "300");
    assert!(latency.about.contains("1 to 10000ms") && latency.about.contains("Added delay"), "{}", latency.about);
    assert!(field(&h, "duration").about.contains("at most 1h"));
    assert!(blast(&h).contains("adds 300ms (±30ms) latency"), "{}", blast(&h));
    assert!(matches!(h.s.fault.phase, FaultPhase::Idle), "nothing is armed before the form is done");
}

#[test]
fn typing_replaces_the_value_and_the_blast_radius_follows() {
    let mut h = latency_form();
    h.key(KeyCode::Tab); // latency_ms
    h.typed("500");
    assert_eq!(field(&h, "latency_ms").value, "500", "the first key replaces the selected value");
    assert!(blast(&h).contains("adds 500ms"), "{}", blast(&h));
    h.key(KeyCode::Backspace);
    h.typed("7");
    assert_eq!(field(&h, "latency_ms").value, "507", "after Backspace, keys edit the value");
    // mode: one pod of carts' pods.
    h.key(KeyCode::Tab);
    h.key(KeyCode::Tab);
    h.typed("1");
    let plan = form(&h).plan.clone().unwrap();
    assert_eq!(plan.mode, Some(Mode::Fixed(1)));
    assert!(plan.blast_radius.contains("1 of"), "{}", plan.blast_radius);
}

#[test]
fn a_value_out_of_bounds_is_refused_in_place_and_enter_does_not_go_on() {
    let mut h = latency_form();
    h.key(KeyCode::Tab);
    h.typed("99999");
    let latency = field(&h, "latency_ms");
    let err = latency.error.clone().expect("refused on its own field");
    assert!(err.contains("10000"), "{err}");
    assert!(field(&h, "jitter_ms").error.is_none());
    let fx = h.key(KeyCode::Enter);
    assert!(fx.is_empty());
    assert_eq!(h.s.context(), Context::Form, "the form stays open to be mended");
    assert!(matches!(h.s.fault.phase, FaultPhase::Idle));
    let status = h.s.book.status.clone().unwrap();
    assert_eq!(status.level, Level::Error);
    assert!(status.text.contains("not yet"), "{}", status.text);
    // Not a number at all; then nothing; then mended.
    h.key(KeyCode::Up);
    h.key(KeyCode::Down);
    h.typed("fast");
    assert!(field(&h, "latency_ms").error.is_some());
    for _ in 0..4 {
        h.key(KeyCode::Backspace);
    }
    assert!(field(&h, "latency_ms").error.as_deref().unwrap_or("").contains("give a value"));
    h.typed("800");
    assert!(field(&h, "latency_ms").error.is_none());
    h.key(KeyCode::Tab); // duration
    h.typed("2h");
    assert!(field(&h, "duration").error.as_deref().unwrap_or("").contains("at most 1h"), "{:?}", field(&h, "duration"));
    h.key(KeyCode::Backspace);
    h.key(KeyCode::Backspace);
    h.typed("90s");
    h.key(KeyCode::Enter);
    let FaultPhase::Armed { plan, .. } = &h.s.fault.phase else { panic!("{:?}", h.s.fault.phase) };
    assert_eq!(plan.params["latency_ms"], ParamValue::Int(800));
    assert_eq!(plan.duration_ms, 90_000);
    assert_eq!(h.s.context(), Context::Confirm);
}

#[test]
fn enter_with_the_defaults_arms_the_preset_as_it_is() {
    let mut h = latency_form();
    h.key(KeyCode::Enter);
    let FaultPhase::Armed { plan, .. } = &h.s.fault.phase else { panic!("{:?}", h.s.fault.phase) };
    assert_eq!(plan.params["latency_ms"], ParamValue::Int(300));
    assert_eq!(plan.duration_ms, 120_000);
    assert_eq!(plan.mode, Some(Mode::All));
}

#[test]
fn paste_replaces_the_value_on_one_line_and_hostile_text_is_cleaned() {
    let mut h = latency_form();
    h.key(KeyCode::Tab);
    h.send(Event::Paste("  750\r\n".into()));
    assert_eq!(field(&h, "latency_ms").value, "750");
    assert!(blast(&h).contains("adds 750ms"));
    h.key(KeyCode::Tab);
    h.key(KeyCode::Tab);
    h.send(Event::Paste("\x1b[31mall\x1b]52;c;ZXZpbA==\x07\n".into()));
    assert_eq!(field(&h, "mode").value, "all");
    assert!(form(&h).plan.is_ok());
}

#[test]
fn esc_cancels_and_nothing_is_recorded() {
    let mut h = latency_form();
    let before = h.s.book.timeline.len();
    h.key(KeyCode::Tab);
    h.typed("5");
    let fx = h.key(KeyCode::Esc);
    assert!(fx.is_empty());
    assert_eq!(h.s.context(), Context::Main);
    assert!(matches!(h.s.fault.phase, FaultPhase::Idle));
    assert_eq!(h.s.book.timeline.len(), before);
}

#[test]
fn stray_keys_and_space_in_the_form_do_not_quit_or_inject() {
    let mut h = latency_form();
    h.key(KeyCode::Tab);
    // q, i, :, n, Space are text here: they go into the value (refused), nothing else happens.
    for k in ['q', 'i', ':', 'n', ' '] {
        let fx = h.key(KeyCode::Char(k));
        assert!(fx.is_empty(), "{k}: {fx:?}");
        assert_eq!(h.s.context(), Context::Form, "{k}");
    }
    assert!(field(&h, "latency_ms").error.is_some());
    // Keys with no meaning here change nothing.
    for k in [KeyCode::F(5), KeyCode::PageDown, KeyCode::Home, KeyCode::Insert] {
        h.key(k);
        assert_eq!(h.s.context(), Context::Form);
    }
}

#[test]
fn the_form_keeps_its_values_after_cancel_on_it_or_on_the_confirmation() {
    let mut h = latency_form();
    h.key(KeyCode::Tab);
    h.typed("750");
    // Cancel on the confirmation: back on the form, as it was.
    h.key(KeyCode::Enter);
    assert!(matches!(h.s.fault.phase, FaultPhase::Armed { .. }));
    h.key(KeyCode::Esc);
    assert!(matches!(h.s.fault.phase, FaultPhase::Idle));
    assert_eq!(h.s.context(), Context::Form);
    assert_eq!(field(&h, "latency_ms").value, "750");
    // Esc on the form, then the same preset on the same target: the values as they were left.
    h.key(KeyCode::Esc);
    assert_eq!(h.s.context(), Context::Main);
    h.key(KeyCode::Enter);
    h.pick("network-latency");
    assert_eq!(field(&h, "latency_ms").value, "750");
    assert!(blast(&h).contains("adds 750ms"), "{}", blast(&h));
    h.key(KeyCode::Enter);
    let FaultPhase::Armed { plan, .. } = &h.s.fault.phase else { panic!("{:?}", h.s.fault.phase) };
    assert_eq!(plan.params["latency_ms"], ParamValue::Int(750));
    h.key(KeyCode::Esc);
    h.key(KeyCode::Esc);
    // Another preset, or another target, starts from its defaults.
    h.key(KeyCode::Enter);
    h.pick("network-loss");
    assert!(form(&h).fields.iter().all(|f| f.value == f.default), "{:?}", form(&h).fields);
    h.key(KeyCode::Esc);
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    h.pick("network-latency");
    assert_eq!(field(&h, "latency_ms").value, field(&h, "latency_ms").default, "{}", form(&h).target);
}
