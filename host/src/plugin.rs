//! Running third-party rule plugins (the WIT `rule` world) in a sandbox.
//!
//! Each call gets a fresh Store with a memory cap and an epoch deadline, and a WASI
//! context that denies everything: no preopened directories, no environment, no
//! arguments, no network, empty stdin, stdout discarded, and stderr captured into a
//! size-capped buffer that is shown when the plugin fails. Any failure — a trap, the
//! time or memory limit, an error result, an import plangate does not provide — is
//! an error naming the plugin (the caller exits 2: fail closed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::component::{Context, Finding, Plan};

/// Host bindings of the `rule` world. Its `types` are an import there and an export
/// of the gate, so bindgen makes two Rust copies of the same WIT types; [`convert`]
/// moves values between them through their (identical) serde shape.
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "rule",
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

/// Converts between the two bindgen copies of the same WIT type.
fn convert<A: serde::Serialize, B: serde::de::DeserializeOwned>(value: &A) -> Result<B> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .context("internal error: the rule and gate bindings disagree on a WIT type")
}

/// Limits for one plugin call.
#[derive(Debug, Clone, Copy)]
pub struct PluginLimits {
    /// Largest linear memory the plugin may grow to.
    pub memory_bytes: usize,
    /// Wall-clock budget for instantiation plus the call.
    pub time: Duration,
    /// How much of the plugin's stderr is kept.
    pub stderr_bytes: usize,
}

impl PluginLimits {
    /// The defaults, overridden by `PLANGATE_PLUGIN_TIMEOUT` (a duration such as `2s`)
    /// and `PLANGATE_PLUGIN_MEMORY_MIB` (an integer).
    pub fn from_env() -> Result<Self> {
        let mut limits = PluginLimits::default();
        if let Ok(raw) = std::env::var("PLANGATE_PLUGIN_TIMEOUT") {
            limits.time = humantime::parse_duration(&raw)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    anyhow!("PLANGATE_PLUGIN_TIMEOUT={raw:?} is not a duration like 5s")
                })?;
        }
        if let Ok(raw) = std::env::var("PLANGATE_PLUGIN_MEMORY_MIB") {
            let mib: usize = raw
                .parse()
                .ok()
                .filter(|m| (1..=4096).contains(m))
                .ok_or_else(|| {
                    anyhow!(
                        "PLANGATE_PLUGIN_MEMORY_MIB={raw:?} is not a number of MiB from 1 to 4096"
                    )
                })?;
            limits.memory_bytes = mib << 20;
        }
        Ok(limits)
    }
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            memory_bytes: 256 << 20,
            time: Duration::from_secs(5),
            stderr_bytes: 64 << 10,
        }
    }
}

/// A loaded (compiled) plugin and how to call it.
pub struct Plugin {
    /// Its name: the policy rule's name, or the file stem for `--plugin`.
    pub name: String,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// Its configuration as JSON text.
    pub config: String,
    component: Component,
}

/// Per-store state: WASI (deny-all) and the limiter.
struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Runs plugins on an engine shared with the gate (same epoch ticker).
pub struct PluginHost {
    engine: Engine,
    linker: Linker<PluginState>,
    limits: PluginLimits,
    /// Epoch ticks per second of the engine's ticker.
    ticks_per_second: u64,
}

impl PluginHost {
    /// A host whose plugins may import WASI p2 (and nothing else).
    pub fn new(engine: &Engine, ticks_per_second: u64, limits: PluginLimits) -> Result<Self> {
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(anyhow::Error::from)
            .context("cannot set up WASI for plugins")?;
        Ok(PluginHost {
            engine: engine.clone(),
            linker,
            limits,
            ticks_per_second,
        })
    }

    /// Reads and compiles a plugin component (through the compiled-component cache).
    pub fn load(&self, name: &str, path: &Path, config: String) -> Result<Plugin> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("plugin {name}: cannot read {}", path.display()))?;
        let (component, _) =
            crate::cache::load_component(&self.engine, "plugin", &bytes).map_err(|e| {
                // wasmtime's message goes on to list the offending bytes; its first line says enough.
                let why = e.root_cause().to_string();
                let why = why
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches(" - expected=[");
                anyhow!(
                    "plugin {name}: {} is not a valid component: {why}",
                    path.display()
                )
            })?;
        Ok(Plugin {
            name: name.to_string(),
            path: path.to_path_buf(),
            config,
            component,
        })
    }

    /// Calls the plugin's `evaluate` in a fresh sandbox.
    pub fn evaluate(&self, plugin: &Plugin, plans: &[Plan], ctx: &Context) -> Result<Vec<Finding>> {
        let stderr = MemoryOutputPipe::new(self.limits.stderr_bytes);
        let wasi = WasiCtxBuilder::new()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        let mut store = Store::new(
            &self.engine,
            PluginState {
                wasi,
                table: ResourceTable::new(),
                limits: StoreLimitsBuilder::new()
                    .memory_size(self.limits.memory_bytes)
                    .instances(64)
                    .tables(64)
                    .memories(16)
                    .trap_on_grow_failure(true)
                    .build(),
            },
        );
        store.limiter(|s| &mut s.limits);
        let ticks = (self.limits.time.as_millis() as u64 * self.ticks_per_second / 1000).max(1);
        store.set_epoch_deadline(ticks);

        let name = &plugin.name;
        let with_stderr = |e: anyhow::Error| {
            let captured = String::from_utf8_lossy(&stderr.contents())
                .trim()
                .to_string();
            if captured.is_empty() {
                e
            } else {
                let tail: String = captured
                    .chars()
                    .rev()
                    .take(2000)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                e.context(format!("plugin {name} wrote to stderr:\n{tail}"))
            }
        };
        let instance = bindings::Rule::instantiate(&mut store, &plugin.component, &self.linker)
            .map_err(|e| with_stderr(self.explain(name, e, "starting")))?;
        let plans: Vec<bindings::plangate::gate::types::Plan> = convert(&plans)?;
        let ctx: bindings::plangate::gate::types::Context = convert(ctx)?;
        let result = instance
            .call_evaluate(&mut store, &plans, &ctx, &plugin.config)
            .map_err(|e| with_stderr(self.explain(name, e, "evaluating")))?;
        let findings = result.map_err(|message| {
            with_stderr(anyhow!("plugin {name} returned an error: {message}"))
        })?;
        convert(&findings)
    }

    fn explain(&self, name: &str, e: wasmtime::Error, what: &str) -> anyhow::Error {
        if let Some(trap) = e.downcast_ref::<Trap>() {
            return match trap {
                Trap::Interrupt => anyhow!(
                    "plugin {name} ran out of time while {what} (limit {:?})",
                    self.limits.time
                ),
                Trap::AllocationTooLarge => anyhow!(
                    "plugin {name} hit its memory limit while {what} (limit {} MiB)",
                    self.limits.memory_bytes >> 20
                ),
                other => anyhow!("plugin {name} trapped while {what}: {other}"),
            };
        }
        let text = format!("{e:#}");
        if text.contains("import")
            && (text.contains("not defined") || text.contains("matching implementation"))
        {
            return anyhow!(
                "plugin {name} needs an import plangate does not provide ({text}); plugins may import WASI 0.2 only"
            );
        }
        if text.contains("memory") && (text.contains("grow") || text.contains("limit")) {
            return anyhow!(
                "plugin {name} hit its memory limit while {what} (limit {} MiB)",
                self.limits.memory_bytes >> 20
            );
        }
        anyhow::Error::from(e).context(format!("plugin {name} failed while {what}"))
    }
}
