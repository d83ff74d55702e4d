//! The patient-auth HTTP API (actix-web): routes, extractors, the JWT guard, error mapping,
//! settings, start-up and the command line. Domain logic lives in the `service` crate.

pub mod access_log;
pub mod audit_report;
pub mod cli;
pub mod client_ip;
pub mod dto;
pub mod error;
pub mod guard;
pub mod json_body;
pub mod logging;
pub mod openapi;
pub mod rate_limit;
pub mod request_id;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
