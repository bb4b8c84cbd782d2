//! The gate component itself: no imports, and limits that stop it cleanly.

use std::time::Duration;

use plangate::component::{GATE_COMPONENT, Gate, Limits};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

#[test]
fn the_gate_component_has_no_imports() {
    let engine = Engine::new(&Config::new()).unwrap();
    let component = Component::new(&engine, GATE_COMPONENT).unwrap();
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(&engine)
        .map(|(name, _)| name.to_string())
        .collect();
    assert_eq!(imports, Vec::<String>::new());
    let mut exports: Vec<String> = ty
        .exports(&engine)
        .map(|(name, _)| name.to_string())
        .collect();
    exports.sort();
    assert_eq!(
        exports,
        [
            "plangate:gate/plans@0.1.0",
            "plangate:gate/policy@0.1.0",
            "plangate:gate/types@0.1.0"
        ]
    );
}

#[test]
fn a_memory_limit_hit_is_an_error_naming_it() {
    let gate = Gate::from_bytes(
        GATE_COMPONENT,
        Limits {
            memory_bytes: 1 << 20,
            time: Duration::from_secs(10),
        },
    )
    .unwrap();
    // The component starts within 1 MiB, but a 4 MiB body cannot be copied in.
    let body = format!("{{\"plans\":[],\"pad\":\"{}\"}}", "x".repeat(4 << 20));
    let result = gate.session().and_then(|mut s| s.parse_response(&body));
    let e = format!("{:#}", result.expect_err("must fail under a 1 MiB cap"));
    assert!(e.contains("memory limit"), "{e}");
}

#[test]
fn a_time_limit_hit_is_an_error_naming_it() {
    let gate = Gate::from_bytes(
        GATE_COMPONENT,
        Limits {
            memory_bytes: 512 << 20,
            time: Duration::from_millis(1),
        },
    )
    .unwrap();
    // The deadline is one 10 ms epoch tick after the store is made; by the time the
    // call starts it has passed, so the call must be interrupted, not run.
    let result = gate.session().and_then(|mut s| {
        std::thread::sleep(Duration::from_millis(50));
        s.parse_response(r#"{"plans":[]}"#)
    });
    let e = format!("{:#}", result.expect_err("must run out of time"));
    assert!(e.contains("ran out of time"), "{e}");
}
