//! A hostile plugin that never returns: plangate must stop it at its time limit.

// Generated code: wit-bindgen lowers the 11-field finding record into many arguments.
#[allow(clippy::too_many_arguments)]
mod bindings {
    wit_bindgen::generate!({ path: "../../../wit", world: "rule" });
}

use bindings::plangate::gate::types::{Context, Finding, Plan};

/// The plugin.
pub struct Spin;

impl bindings::Guest for Spin {
    fn evaluate(plans: Vec<Plan>, _ctx: Context, _config: String) -> Result<Vec<Finding>, String> {
        let mut n: u64 = plans.len() as u64;
        loop {
            n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
            if n == 42 {
                return Ok(Vec::new());
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
bindings::export!(Spin with_types_in bindings);
