//! The SQL Server bridge: SeaORM statements translated to T-SQL and run through `tiberius`.

pub mod pool;
pub mod translate;
pub mod values;
