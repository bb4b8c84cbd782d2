//! A hostile plugin that allocates without bound: plangate must stop it at its memory cap.

// Generated code: wit-bindgen lowers the 11-field finding record into many arguments.
#[allow(clippy::too_many_arguments)]
mod bindings {
    wit_bindgen::generate!({ path: "../../../wit", world: "rule" });
}

use bindings::plangate::gate::types::{Context, Finding, Plan};

/// The plugin.
pub struct Hog;

impl bindings::Guest for Hog {
    fn evaluate(_plans: Vec<Plan>, _ctx: Context, _config: String) -> Result<Vec<Finding>, String> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![1u8; 16 << 20]);
            std::hint::black_box(&hoard);
        }
    }
}

#[cfg(target_arch = "wasm32")]
bindings::export!(Hog with_types_in bindings);
