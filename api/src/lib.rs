//! The patient-auth HTTP API (actix-web): routes, extractors, the JWT guard, error mapping,
//! settings, start-up and the command line. Domain logic lives in the `service` crate.

pub mod cli;
pub mod dto;
pub mod error;
pub mod guard;
pub mod json_body;
pub mod openapi;
pub mod request_id;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
