//! The SQL Server bridge. SeaORM's open-source edition has no SQL Server backend, so SeaORM is
//! connected through its proxy feature as if to PostgreSQL; every statement it builds is
//! translated to T-SQL ([`translate`]), run with tiberius on a bb8 pool ([`pool`]), and the rows
//! come back as the values the entities declare ([`values`]). Transactions each get a proxy
//! pinned to one connection ([`proxy`]); [`crate::Db`] hands those out.

pub mod lint;
pub mod pool;
pub mod proxy;
pub mod translate;
pub mod values;
