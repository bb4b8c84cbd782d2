//! End-to-end tests: the real `plangate` binary with the real component.
//! One integration test binary, one module per area.

mod cache;
mod check;
mod commands;
mod component;
mod live;
mod mock_ack;
mod mock_http;
mod plugins;
mod support;
mod terminal;
