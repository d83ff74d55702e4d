//! API integration tests: the real server on port 0, on SQLite, PostgreSQL and MariaDB.

mod helpers;

mod audit;
mod authenticator;
mod binary;
mod browser_headers;
mod concurrency;
mod faults;
mod hostile_input;
mod login;
mod logout;
mod mail_server;
mod mfa;
mod migrations;
mod openapi;
mod outage;
mod passkeys;
mod profile;
mod rate_limits;
mod recovery;
mod refresh;
mod register;
mod sessions;
mod sql_server;
mod takeover;
mod tokens;
