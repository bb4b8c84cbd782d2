//! Running the gate component in wasmtime: one compiled component per process,
//! a fresh `Store` with a memory cap and an epoch deadline for every evaluation.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};

/// Host-side types and call stubs generated from `wit/plangate.wit`.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "gate",
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

pub use bindings::exports::plangate::gate::plans::ParseError;
pub use bindings::exports::plangate::gate::policy::{PluginFindings, PluginSpec, PolicyError};
pub use bindings::exports::plangate::gate::types::{
    Context, Decision, Finding, Plan, PlanState, PlanType, Severity, TargetType, Timestamp,
    Verdict, Window,
};

/// The gate component, built from `guest/` by `build.rs`.
pub const GATE_COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/plangate-gate.wasm"));

/// The WIT contract of the gate component.
pub const GATE_WIT: &str = include_str!("../../wit/plangate.wit");

/// Resource limits for one evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest linear memory the component may grow to.
    pub memory_bytes: usize,
    /// Wall-clock budget for one store's calls.
    pub time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            time: Duration::from_secs(10),
        }
    }
}

/// How often the epoch advances; the deadline is counted in these ticks.
const TICK: Duration = Duration::from_millis(10);
/// Epoch ticks per second (plugins on the same engine count their deadline in these).
pub const TICKS_PER_SECOND: u64 = 1000 / TICK.as_millis() as u64;

/// Per-store host state: only the limiter.
struct State {
    limits: StoreLimits,
}

/// A loaded gate component, ready to evaluate.
pub struct Gate {
    engine: Engine,
    component: Component,
    linker: Linker<State>,
    limits: Limits,
    ticker_stop: Arc<AtomicBool>,
}

impl Gate {
    /// Loads the embedded gate component, through the compiled-component cache.
    pub fn load(limits: Limits) -> Result<Self> {
        let engine = new_engine()?;
        let (component, _) =
            crate::cache::load_component(&engine, "plangate-gate", GATE_COMPONENT)?;
        Self::with_component(engine, component, limits)
    }

    /// Compiles a gate component from its bytes (no cache).
    pub fn from_bytes(bytes: &[u8], limits: Limits) -> Result<Self> {
        let engine = new_engine()?;
        let component = Component::new(&engine, bytes)
            .map_err(anyhow::Error::from)
            .context("cannot compile the gate component")?;
        Self::with_component(engine, component, limits)
    }

    fn with_component(engine: Engine, component: Component, limits: Limits) -> Result<Self> {
        let linker = Linker::new(&engine);
        let ticker_stop = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = ticker_stop.clone();
            std::thread::Builder::new()
                .name("plangate-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                })
                .context("cannot start the epoch ticker thread")?;
        }
        Ok(Gate {
            engine,
            component,
            linker,
            limits,
            ticker_stop,
        })
    }

    /// The engine (and epoch ticker) the gate runs on; plugins share it.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A fresh instance in a fresh store with this gate's limits.
    pub fn session(&self) -> Result<Session> {
        let mut store = Store::new(
            &self.engine,
            State {
                limits: StoreLimitsBuilder::new()
                    .memory_size(self.limits.memory_bytes)
                    .instances(4)
                    .tables(16)
                    .memories(4)
                    .trap_on_grow_failure(true)
                    .build(),
            },
        );
        store.limiter(|s| &mut s.limits);
        let ticks = (self.limits.time.as_millis() / TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        let bindings = bindings::Gate::instantiate(&mut store, &self.component, &self.linker)
            .map_err(|e| self.explain(e, "instantiating the gate component"))?;
        Ok(Session {
            store,
            bindings,
            limits: self.limits,
        })
    }

    fn explain(&self, e: wasmtime::Error, what: &str) -> anyhow::Error {
        explain(e, what, self.limits)
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// The engine configuration every plangate component runs with.
pub fn new_engine() -> Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("cannot create the wasmtime engine")
}

/// Names a trap or limit hit so the user knows what happened.
fn explain(e: wasmtime::Error, what: &str, limits: Limits) -> anyhow::Error {
    if let Some(trap) = e.downcast_ref::<Trap>() {
        return match trap {
            Trap::Interrupt => anyhow!(
                "the gate component ran out of time while {what} (limit {:?})",
                limits.time
            ),
            Trap::AllocationTooLarge => anyhow!(
                "the gate component hit its memory limit while {what} (limit {} MiB)",
                limits.memory_bytes >> 20
            ),
            other => anyhow!("the gate component trapped while {what}: {other}"),
        };
    }
    let text = format!("{e:#}");
    if text.contains("memory") && (text.contains("grow") || text.contains("limit")) {
        return anyhow!(
            "the gate component hit its memory limit while {what} (limit {} MiB)",
            limits.memory_bytes >> 20
        );
    }
    anyhow::Error::from(e).context(format!("the gate component failed while {what}"))
}

/// A policy compiled in one [`Session`]'s store (a handle to the WIT `engine` resource).
pub struct CompiledPolicy(wasmtime::component::ResourceAny);

/// One fresh store and instance: parse, compile and evaluate in it.
pub struct Session {
    store: Store<State>,
    bindings: bindings::Gate,
    limits: Limits,
}

impl Session {
    /// The largest body the component accepts.
    pub fn max_body_bytes(&mut self) -> Result<u64> {
        self.bindings
            .plangate_gate_plans()
            .call_max_body_bytes(&mut self.store)
            .map_err(|e| explain(e, "reading the body size limit", self.limits))
    }

    /// Parses a response body into plans.
    pub fn parse_response(&mut self, body: &str) -> Result<Result<Vec<Plan>, ParseError>> {
        self.bindings
            .plangate_gate_plans()
            .call_parse_response(&mut self.store, body)
            .map_err(|e| explain(e, "parsing the response", self.limits))
    }

    /// The default policy document.
    pub fn default_policy(&mut self) -> Result<String> {
        self.bindings
            .plangate_gate_policy()
            .call_default_policy(&mut self.store)
            .map_err(|e| explain(e, "reading the default policy", self.limits))
    }

    /// Compiles a policy document in this store; `Ok(Err(..))` names what is wrong with it.
    pub fn compile(&mut self, doc: &str) -> Result<Result<CompiledPolicy, PolicyError>> {
        let compiled = self
            .bindings
            .plangate_gate_policy()
            .engine()
            .call_compile(&mut self.store, doc)
            .map_err(|e| explain(e, "compiling the policy", self.limits))?;
        Ok(compiled.map(CompiledPolicy))
    }

    /// The compiled policy's rule names, in document order.
    pub fn rule_names(&mut self, policy: &CompiledPolicy) -> Result<Vec<String>> {
        self.bindings
            .plangate_gate_policy()
            .engine()
            .call_rule_names(&mut self.store, policy.0)
            .map_err(|e| explain(e, "listing the policy's rules", self.limits))
    }

    /// The plugins the compiled policy names.
    pub fn plugin_specs(&mut self, policy: &CompiledPolicy) -> Result<Vec<PluginSpec>> {
        self.bindings
            .plangate_gate_policy()
            .engine()
            .call_plugins(&mut self.store, policy.0)
            .map_err(|e| explain(e, "listing the policy's plugins", self.limits))
    }

    /// Evaluates `plans` in `ctx` with the compiled policy, merging plugin findings (if any).
    pub fn evaluate(
        &mut self,
        policy: &CompiledPolicy,
        plans: &[Plan],
        ctx: &Context,
        extra: &[PluginFindings],
    ) -> Result<Decision> {
        let engine = self.bindings.plangate_gate_policy().engine();
        let decided = if extra.is_empty() {
            engine.call_evaluate(&mut self.store, policy.0, plans, ctx)
        } else {
            engine.call_evaluate_with_plugins(&mut self.store, policy.0, plans, ctx, extra)
        };
        decided.map_err(|e| explain(e, "evaluating the policy", self.limits))
    }
}
