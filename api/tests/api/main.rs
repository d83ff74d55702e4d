//! API integration tests: the real server on port 0, on SQLite, PostgreSQL and MariaDB.

mod helpers;

mod binary;
mod concurrency;
mod hostile_input;
mod login;
mod logout;
mod migrations;
mod openapi;
mod outage;
mod profile;
mod refresh;
mod register;
mod sessions;
mod sql_server;
mod tokens;
